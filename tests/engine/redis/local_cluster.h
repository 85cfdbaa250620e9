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
