#pragma once

// A Redis Cluster on loopback for one test binary (TheCluster()): tools/cluster.sh up on ports
// of its own, down when the binary ends. Three primaries with a replica each.

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace vigil::redis {

class LocalCluster {
 public:
  // Ports base..base+5 and their bus ports base+10000..: below Linux's ephemeral range, where
  // the servers that other tests start on port 0 land. The process id keeps two test binaries
  // that run at once apart.
  LocalCluster()
      : base_port_(7100 + 6 * static_cast<int>(getpid() % 300)),
        dir_(absl::StrCat(testing_tmp(), "/vigil-cluster-", getpid())) {}
  ~LocalCluster() { Down(); }

  // Starts it; false if it did not come up (the script says why on stderr).
  bool Up() {
    const std::string output = absl::StrCat(dir_, ".seeds");
    const std::string command = absl::StrCat(VIGIL_SOURCE_DIR, "/tools/cluster.sh up --port ",
                                             base_port_, " --dir ", dir_, " > ", output);
    if (std::system(command.c_str()) != 0) return false;
    std::string seeds;
    if (FILE* file = std::fopen(output.c_str(), "r")) {
      char buffer[512];
      while (std::fgets(buffer, sizeof buffer, file) != nullptr) seeds += buffer;
      std::fclose(file);
    }
    std::remove(output.c_str());
    seeds_ = absl::StrSplit(absl::StripAsciiWhitespace(seeds), ',');
    up_ = true;
    return !seeds_.empty();
  }
  void Down() {
    if (!up_) return;
    const std::string command = absl::StrCat(VIGIL_SOURCE_DIR, "/tools/cluster.sh down --port ",
                                             base_port_, " --dir ", dir_);
    (void)std::system(command.c_str());
    up_ = false;
  }

  // Starts node `index` (0 to 5) again after it died; false if it did not come back.
  bool Restart(int index) {
    const std::string command =
        absl::StrCat(VIGIL_SOURCE_DIR, "/tools/cluster.sh restart-node --port ", base_port_,
                     " --dir ", dir_, " --node ", base_port_ + index);
    if (std::system(command.c_str()) != 0) return false;
    for (int i = 0; i < 100; ++i) {
      if (Cli(index, "PING") == "PONG") return true;
      usleep(50'000);
    }
    return false;
  }

  const std::vector<std::string>& seeds() const { return seeds_; }

  // The index (0 to 5) of the node at "host:port".
  int IndexOf(const std::string& address) const {
    return std::stoi(address.substr(address.rfind(':') + 1)) - base_port_;
  }
  // CLUSTER NODES as node 0 sees it, a line a node, split into its fields: id, address@bus,
  // flags, primary id, ping, pong, epoch, link, slots...
  std::vector<std::vector<std::string>> Nodes() const {
    std::vector<std::vector<std::string>> nodes;
    for (absl::string_view line : absl::StrSplit(Cli(0, "CLUSTER NODES"), '\n')) {
      std::vector<std::string> fields = absl::StrSplit(line, ' ');
      if (fields.size() >= 8) nodes.push_back(std::move(fields));
    }
    return nodes;
  }
  struct Primary {
    std::string id;
    std::string address;  // "host:port"
  };
  // The primary (not marked failed) serving `slot`; empty if none.
  Primary PrimaryOf(int slot) const {
    for (const std::vector<std::string>& fields : Nodes()) {
      if (fields[2].find("master") == std::string::npos ||
          fields[2].find("fail") != std::string::npos) {
        continue;
      }
      for (size_t i = 8; i < fields.size(); ++i) {
        if (fields[i].empty() || fields[i][0] == '[') continue;  // a slot being moved
        std::vector<std::string> range = absl::StrSplit(fields[i], '-');
        const int first = std::stoi(range[0]);
        const int last = range.size() > 1 ? std::stoi(range[1]) : first;
        if (slot >= first && slot <= last) {
          return {fields[0], fields[1].substr(0, fields[1].find('@'))};
        }
      }
    }
    return {};
  }
  // The index of a replica of the primary `primary_id`; -1 if none.
  int ReplicaOf(const std::string& primary_id) const {
    for (const std::vector<std::string>& fields : Nodes()) {
      if (fields[2].find("slave") != std::string::npos && fields[3] == primary_id) {
        return IndexOf(fields[1].substr(0, fields[1].find('@')));
      }
    }
    return -1;
  }
  int base_port() const { return base_port_; }
  // redis-cli against node `index` (0 to 5); its output.
  std::string Cli(int index, const std::string& args) const {
    const std::string command =
        absl::StrCat("redis-cli -p ", base_port_ + index, " ", args, " 2>&1");
    std::string out;
    if (FILE* pipe = popen(command.c_str(), "r")) {
      char buffer[4096];
      while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) out += buffer;
      pclose(pipe);
    }
    return std::string(absl::StripAsciiWhitespace(out));
  }

 private:
  static std::string testing_tmp() {
    const char* tmp = std::getenv("TMPDIR");
    return tmp != nullptr ? tmp : "/tmp";
  }

  const int base_port_;
  const std::string dir_;
  std::vector<std::string> seeds_;
  bool up_ = false;
};

// The test binary's one cluster, started on first use and stopped when the binary exits;
// nullptr when it would not start.
inline LocalCluster* TheCluster() {
  static std::unique_ptr<LocalCluster> cluster = [] {
    auto started = std::make_unique<LocalCluster>();
    return started->Up() ? std::move(started) : nullptr;
  }();
  return cluster.get();
}

}  // namespace vigil::redis
