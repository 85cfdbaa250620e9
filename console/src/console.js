// The risk team's console: reads vigild's /api/* JSON and draws it with uPlot. Read-only unless
// a support token is given; the server decides whether its role may change state.
'use strict';

const $ = (selector) => document.querySelector(selector);
const COLORS = { APPROVE: '#1b7f3b', CHALLENGE: '#d08700', DECLINE: '#c62828' };

function text(value) { return document.createTextNode(value == null ? '' : String(value)); }

// A table row from cells: strings, nodes, or {value, className}.
function row(cells, className) {
  const tr = document.createElement('tr');
  if (className) tr.className = className;
  for (const cell of cells) {
    const td = document.createElement('td');
    if (cell instanceof Node) td.appendChild(cell);
    else if (cell && typeof cell === 'object') {
      td.appendChild(text(cell.value));
      if (cell.className) td.className = cell.className;
    } else td.appendChild(text(cell));
    tr.appendChild(td);
  }
  return tr;
}

function fill(tableSelector, rows) {
  const body = $(tableSelector + ' tbody');
  body.replaceChildren(...rows);
}

function time(ms) {
  if (!ms) return '-';
  return new Date(Number(ms)).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

function money(minor) {
  return minor ? (Number(minor) / 100).toFixed(2) : '-';
}

function reasons(list) {
  return (list || []).map((r) => r.code).join(', ') || '-';
}

function message(selector, value, isError) {
  const element = $(selector);
  element.textContent = value || '';
  element.classList.toggle('error', Boolean(isError));
}

async function getJson(path) {
  const response = await fetch(path, { cache: 'no-store' });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || `${path}: HTTP ${response.status}`);
  return body;
}

// --- Overview: the decision mix and the top reason codes ------------------------------------

const charts = {};

function chartWidth(element) {
  return Math.max(240, element.clientWidth || 320);
}

function drawMix(overview) {
  const element = $('#mix-chart');
  const s = overview.series;
  const data = [s.t, s.APPROVE, s.CHALLENGE, s.DECLINE];
  element.dataset.points = String(s.t.length);
  element.dataset.decisions = String(
    ['APPROVE', 'CHALLENGE', 'DECLINE'].reduce((sum, d) => sum + overview.totals[d], 0));
  if (charts.mix) { charts.mix.setData(data); return; }
  const series = ['APPROVE', 'CHALLENGE', 'DECLINE'].map((label) => ({
    label, stroke: COLORS[label], width: 2, fill: COLORS[label] + '22',
  }));
  charts.mix = new uPlot({
    width: chartWidth(element), height: 240,
    series: [{}, ...series],
    axes: [{}, { label: `per ${overview.interval_s} s` }],
    scales: { x: { time: true } },
  }, data, element);
}

function drawReasons(overview) {
  const element = $('#reasons-chart');
  const top = overview.top_reasons;
  element.dataset.points = String(top.length);
  const codes = top.map((r) => r.code);
  const data = [codes.map((_, i) => i), top.map((r) => r.enforced), top.map((r) => r.shadow)];
  if (charts.reasons) charts.reasons.destroy();
  if (top.length === 0) {
    element.replaceChildren(text('No rule fired in the last hour.'));
    return;
  }
  element.replaceChildren();
  const bars = uPlot.paths.bars({ size: [0.6, 60] });
  charts.reasons = new uPlot({
    width: chartWidth(element), height: 240,
    series: [
      { label: 'reason', value: (_, i) => (i == null ? '--' : codes[i]) },
      { label: 'enforced', stroke: COLORS.CHALLENGE, fill: COLORS.CHALLENGE + 'aa', paths: bars },
      { label: 'shadow', stroke: '#6b7a90', fill: '#6b7a9066', paths: bars },
    ],
    scales: { x: { time: false, range: [-0.5, codes.length - 0.5] } },
    axes: [
      { values: (_, ticks) => ticks.map((i) => codes[i] || ''), rotate: -35, size: 120,
        splits: () => codes.map((_, i) => i) },
      {},
    ],
  }, data, element);
}

async function loadOverview() {
  try {
    const overview = await getJson('/api/overview');
    const t = overview.totals;
    $('#version').textContent = `rules ${overview.rules_version}`;
    $('#totals').textContent =
      `${t.APPROVE} approved, ${t.CHALLENGE} challenged, ${t.DECLINE} declined` +
      (overview.can_change ? '' : ' · this console is read-only');
    drawMix(overview);
    drawReasons(overview);
  } catch (error) {
    message('#totals', error.message, true);
  }
}

// --- Rules: exactly what is loaded ---------------------------------------------------------

async function loadRules() {
  const rules = await getJson('/api/rules');
  $('#rules-version').textContent = rules.version;
  fill('#rules-table', (rules.rules || []).map((r) => {
    const when = document.createElement('code');
    when.textContent = r.when + (r.exceptions.length ? `\nexcept: ${r.exceptions.join(' | ')}` : '');
    return row([r.id, r.mode, r.action, r.code, { value: r.hits, className: 'num' }, when],
               r.enabled ? '' : 'disabled');
  }));
  fill('#params-table', (rules.params || []).map((p) => row([p.name, p.value])));
  fill('#lists-table', (rules.lists || []).map((l) => row([l.name, { value: l.size, className: 'num' }, l.file])));
  fill('#loads-table', rules.loads.slice().reverse().map((l) =>
    row([time(l.time_ms), { value: l.result, className: l.result === 'ok' ? 'APPROVE' : 'DECLINE' },
         l.result === 'ok' ? l.version : l.error])));
}

// --- User: profile, mandates, recent decisions; revocation with a role ---------------------

function definitions(selector, pairs) {
  const list = $(selector);
  list.replaceChildren();
  for (const [term, value] of pairs) {
    const dt = document.createElement('dt');
    dt.textContent = term;
    const dd = document.createElement('dd');
    dd.textContent = value;
    list.append(dt, dd);
  }
}

async function revoke(userId, mandateId) {
  const token = $('#token').value.trim();
  const response = await fetch('/api/revoke', {
    method: 'POST',
    headers: Object.assign({ 'Content-Type': 'application/json' },
                           token ? { Authorization: `Bearer ${token}` } : {}),
    body: JSON.stringify({ user_id: userId, mandate_id: mandateId, reason: 'revoked by support' }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    message('#user-message', `Refused: ${body.error || response.status}`, true);
    return;
  }
  await showUser(userId);
  message('#user-message', `Revoked ${mandateId}.`);
}

async function showUser(userId) {
  message('#user-message', '');
  let user;
  try {
    user = await getJson(`/api/users/${encodeURIComponent(userId)}`);
  } catch (error) {
    $('#user-view').hidden = true;
    message('#user-message', error.message, true);
    return;
  }
  $('#user-view').hidden = false;
  $('#user-view').dataset.user = user.user_id;
  const p = user.profile;
  definitions('#profile', p ? [
    ['birth date', p.birth_date || '-'],
    ['risk assessment', p.risk_assessment_completed ? 'completed' : 'not completed'],
    ['own limits', `${money(p.per_txn_limit_minor)} / txn, ${money(p.daily_limit_minor)} / day`],
    ['notified of', p.notify_every_transaction ? 'every charge' : 'policy default'],
  ] : [['profile', 'none (a standard adult)']]);
  definitions('#limits', [
    ['segment', user.limits.segment],
    ['per transaction', money(user.limits.per_txn_cap_minor)],
    ['per day', money(user.limits.daily_cap_minor)],
  ]);
  fill('#mandates-table', user.mandates.map((m) => {
    let action = text('');
    if (m.status !== 'REVOKED') {
      action = document.createElement('button');
      action.textContent = 'Revoke';
      action.dataset.mandate = m.mandate_id;
      action.addEventListener('click', () => revoke(user.user_id, m.mandate_id));
    }
    const tr = row([m.mandate_id, m.merchant_id, { value: m.status, className: `status-${m.status}` },
                    `${money(m.per_txn_limit_minor)} / ${money(m.daily_limit_minor)} / ${money(m.monthly_limit_minor)}`,
                    time(m.last_used_at_ms), action]);
    tr.dataset.mandate = m.mandate_id;
    tr.dataset.status = m.status;
    return tr;
  }));
  fill('#decisions-table', user.decisions.map((d) => row([
    time(d.time_ms), d.transaction_id, d.merchant_id,
    { value: `${money(d.amount_minor)} ${d.currency}`, className: 'num' },
    { value: d.decision, className: d.decision },
    reasons(d.reasons) + (d.shadow_reasons.length ? ` (shadow: ${reasons(d.shadow_reasons)})` : ''),
  ])));
  if (!user.decision_log) message('#user-message', 'vigild keeps no decision log (no --data-dir).');
}

// --- Replay: a vigil-replay --json report --------------------------------------------------

function showReplay(report) {
  $('#replay-view').hidden = false;
  $('#replay-summary').textContent =
    `${report.total} charges replayed under ${report.rules_version}: ${report.changed} decided ` +
    `differently, ${report.reasons_changed} with other reasons, ${report.malformed} malformed lines.`;
  fill('#transitions-table', Object.entries(report.transitions).map(([t, n]) =>
    row([t.replace('->', ' → '), { value: n, className: 'num' }])));
  const rules = new Set([...Object.keys(report.rule_hits), ...Object.keys(report.logged_rule_hits)]);
  fill('#replay-hits-table', [...rules].sort().map((id) => row([
    id, { value: report.logged_rule_hits[id] || 0, className: 'num' },
    { value: report.rule_hits[id] || 0, className: 'num' }])));
  fill('#changed-table', report.sample.map((c) => row([
    time(c.time_ms), c.transaction_id, c.user_id,
    { value: `${c.logged.decision} ${reasons(c.logged.reasons)}`, className: c.logged.decision },
    { value: `${c.replayed.decision} ${reasons(c.replayed.reasons)}`, className: c.replayed.decision },
  ])));
}

$('#replay-file').addEventListener('change', async (event) => {
  const file = event.target.files[0];
  if (!file) return;
  try {
    const report = JSON.parse(await file.text());
    if (typeof report.total !== 'number' || !report.transitions) throw new Error('not a vigil-replay --json report');
    message('#replay-message', file.name);
    showReplay(report);
  } catch (error) {
    $('#replay-view').hidden = true;
    message('#replay-message', `${file.name}: ${error.message}`, true);
  }
});

$('#user-form').addEventListener('submit', (event) => {
  event.preventDefault();
  showUser($('#user-id').value.trim());
});

window.addEventListener('resize', () => {
  for (const [name, selector] of [['mix', '#mix-chart'], ['reasons', '#reasons-chart']]) {
    if (charts[name]) charts[name].setSize({ width: chartWidth($(selector)), height: 240 });
  }
});

loadOverview();
loadRules().catch((error) => message('#rules-version', error.message, true));
setInterval(loadOverview, 10000);
