#include "full_disk.h"

#include <utility>

namespace vigil::store {
namespace {

class FullFile final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FullFile(std::unique_ptr<rocksdb::FSWritableFile> file, std::shared_ptr<FullDisk::State> state)
      : FSWritableFileOwnerWrapper(std::move(file)), state_(std::move(state)) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    if (state_->full.load()) return rocksdb::IOStatus::NoSpace("injected: no space left on device");
    return FSWritableFileOwnerWrapper::Append(data, options, dbg);
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& info,
                           rocksdb::IODebugContext* dbg) override {
    if (state_->full.load()) return rocksdb::IOStatus::NoSpace("injected: no space left on device");
    return FSWritableFileOwnerWrapper::Append(data, options, info, dbg);
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    {
      absl::MutexLock lock(&state_->mu);
      state_->mu.Await(absl::Condition(
          +[](FullDisk::State* state)
               ABSL_EXCLUSIVE_LOCKS_REQUIRED(state->mu) { return !state->stalled; },
          state_.get()));
    }
    if (state_->full.load()) return rocksdb::IOStatus::NoSpace("injected: no space left on device");
    return FSWritableFileOwnerWrapper::Sync(options, dbg);
  }

 private:
  std::shared_ptr<FullDisk::State> state_;
};

class FullFileSystem final : public rocksdb::FileSystemWrapper {
 public:
  explicit FullFileSystem(std::shared_ptr<FullDisk::State> state)
      : FileSystemWrapper(rocksdb::FileSystem::Default()), state_(std::move(state)) {}

  const char* Name() const override { return "FullDisk"; }

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override {
    if (state_->full.load()) return rocksdb::IOStatus::NoSpace("injected: no space left on device");
    std::unique_ptr<rocksdb::FSWritableFile> file;
    rocksdb::IOStatus status = target()->NewWritableFile(name, options, &file, dbg);
    if (status.ok()) *result = std::make_unique<FullFile>(std::move(file), state_);
    return status;
  }

 private:
  std::shared_ptr<FullDisk::State> state_;
};

}  // namespace

FullDisk::FullDisk()
    : state_(std::make_shared<State>()),
      env_(rocksdb::NewCompositeEnv(std::make_shared<FullFileSystem>(state_))) {}

void FullDisk::SetStalled(bool stalled) {
  absl::MutexLock lock(&state_->mu);
  state_->stalled = stalled;
}

}  // namespace vigil::store
