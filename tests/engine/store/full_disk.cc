#include "full_disk.h"

#include <utility>

namespace vigil::store {
namespace {

class FullFile final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FullFile(std::unique_ptr<rocksdb::FSWritableFile> file, std::shared_ptr<std::atomic<bool>> full)
      : FSWritableFileOwnerWrapper(std::move(file)), full_(std::move(full)) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    if (full_->load()) return rocksdb::IOStatus::NoSpace("injected: no space left on device");
    return FSWritableFileOwnerWrapper::Append(data, options, dbg);
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& info,
                           rocksdb::IODebugContext* dbg) override {
    if (full_->load()) return rocksdb::IOStatus::NoSpace("injected: no space left on device");
    return FSWritableFileOwnerWrapper::Append(data, options, info, dbg);
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    if (full_->load()) return rocksdb::IOStatus::NoSpace("injected: no space left on device");
    return FSWritableFileOwnerWrapper::Sync(options, dbg);
  }

 private:
  std::shared_ptr<std::atomic<bool>> full_;
};

class FullFileSystem final : public rocksdb::FileSystemWrapper {
 public:
  explicit FullFileSystem(std::shared_ptr<std::atomic<bool>> full)
      : FileSystemWrapper(rocksdb::FileSystem::Default()), full_(std::move(full)) {}

  const char* Name() const override { return "FullDisk"; }

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override {
    if (full_->load()) return rocksdb::IOStatus::NoSpace("injected: no space left on device");
    std::unique_ptr<rocksdb::FSWritableFile> file;
    rocksdb::IOStatus status = target()->NewWritableFile(name, options, &file, dbg);
    if (status.ok()) *result = std::make_unique<FullFile>(std::move(file), full_);
    return status;
  }

 private:
  std::shared_ptr<std::atomic<bool>> full_;
};

}  // namespace

FullDisk::FullDisk()
    : full_(std::make_shared<std::atomic<bool>>(false)),
      env_(rocksdb::NewCompositeEnv(std::make_shared<FullFileSystem>(full_))) {}

}  // namespace vigil::store
