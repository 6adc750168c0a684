// Atomic files and directories (see atomic_file.h): write to a temporary name, fsync, rename.
#include "train/atomic_file.h"

#include "autograd/error.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <vector>

namespace bayun {

namespace fs = std::filesystem;

namespace {

constexpr const char* where = "checkpoint";

// The hint that goes with an errno: what the user most likely has to fix.
std::string hint_for(int error, const std::string& path) {
    switch (error) {
        case ENOENT: {
            const std::string parent = fs::path(path).parent_path().string();
            return fmt::format("does the directory '{}' exist?", parent.empty() ? "." : parent);
        }
        case ENOTDIR: return "is part of the path a file rather than a directory?";
        case ENOSPC:
        case EDQUOT: return "is the disk full?";
        case EISDIR: return "the path names a directory; give a file name";
        case EROFS: return "the file system is read-only; choose another output directory";
        default: return "is the output directory writable?";
    }
}

[[noreturn]] void fail_errno(int error, const std::string& path) {
    fail(where, "cannot write '{}': {} ({})", path, std::strerror(error), hint_for(error, path));
}

std::string pid_suffix() { return std::to_string(static_cast<long long>(::getpid())); }

// fsync a file or directory by name. Directories: some file systems refuse, which only weakens durability
// across power loss, so that is not an error.
void fsync_path(const std::string& path, bool is_directory) {
    const int fd = ::open(path.c_str(), O_RDONLY | (is_directory ? O_DIRECTORY : 0));
    if (fd < 0) {
        if (is_directory) return;
        fail_errno(errno, path);
    }
    const int rc = ::fsync(fd);
    const int error = errno;
    ::close(fd);
    if (rc != 0 && !is_directory && error != EINVAL) fail_errno(error, path);
}

std::string parent_of(const std::string& path) {
    const std::string parent = fs::path(path).parent_path().string();
    return parent.empty() ? "." : parent;
}

}  // namespace

// ---- one file -----------------------------------------------------------------------------------------------

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)), temp_path_(path_ + ".tmp-" + pid_suffix()) {
    if (path_.empty()) fail(where, "cannot write '': empty file name (give an output path)");
    fd_ = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) fail_errno(errno, path_);
}

AtomicFile::~AtomicFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(temp_path_.c_str());  // an unfinished save leaves nothing behind
}

void AtomicFile::write(const void* data, size_t size) {
    BAYUN_ASSERT(fd_ >= 0 && !committed_, "AtomicFile::write after commit");
    const char* bytes = static_cast<const char*>(data);
    while (size > 0) {  // write() may write less than asked (signals, large sizes): loop until done
        const ssize_t written = ::write(fd_, bytes, size);
        if (written < 0) {
            if (errno == EINTR) continue;
            fail_errno(errno, path_);
        }
        bytes += written;
        size -= static_cast<size_t>(written);
    }
}

void AtomicFile::commit() {
    BAYUN_ASSERT(fd_ >= 0 && !committed_, "AtomicFile::commit called twice");
    // 1. The bytes reach the disk before the new name points at them.
    if (::fsync(fd_) != 0 && errno != EINVAL) fail_errno(errno, path_);
    const int rc = ::close(fd_);
    fd_ = -1;
    if (rc != 0) fail_errno(errno, path_);
    // 2. Readers switch from the old file to the new one in one step.
    if (::rename(temp_path_.c_str(), path_.c_str()) != 0) fail_errno(errno, path_);
    committed_ = true;
    // 3. The rename itself reaches the disk.
    fsync_path(parent_of(path_), true);
}

void write_file_atomic(const std::string& path, std::string_view bytes) {
    AtomicFile out(path);
    out.write(bytes);
    out.commit();
}

// ---- a whole directory --------------------------------------------------------------------------------------

void write_directory_atomic(const std::string& dir, const std::function<void(const std::string& staging)>& fill) {
    if (dir.empty()) fail(where, "cannot write '': empty directory name (give an output directory)");
    const fs::path target = fs::path(dir).lexically_normal();
    const std::string clean = target.has_filename() ? target.string() : target.parent_path().string();
    const std::string staging = clean + ".tmp-" + pid_suffix();
    const std::string old = clean + ".old-" + pid_suffix();

    std::error_code ec;
    if (fs::exists(clean, ec) && !fs::is_directory(clean, ec))
        fail(where, "cannot write '{}': it exists and is not a directory (remove it or choose another name)", dir);
    const std::string parent = parent_of(clean);
    fs::create_directories(parent, ec);
    if (ec) fail_errno(ec.value(), dir);
    fs::remove_all(staging, ec);  // a leftover from an earlier run that had our pid
    if (!fs::create_directory(staging, ec)) fail_errno(ec ? ec.value() : EEXIST, dir);

    // Build the new version in the staging directory; on failure, nothing of it remains.
    try {
        fill(staging);
        for (const auto& entry : fs::recursive_directory_iterator(staging))
            if (entry.is_regular_file()) fsync_path(entry.path().string(), false);
        fsync_path(staging, true);
    } catch (...) {
        fs::remove_all(staging, ec);
        throw;
    }

    // The swap: old out of the way, new into place, old removed.
    const bool had_old = fs::exists(clean, ec);
    if (had_old && ::rename(clean.c_str(), old.c_str()) != 0) {
        const int error = errno;
        fs::remove_all(staging, ec);
        fail_errno(error, dir);
    }
    if (::rename(staging.c_str(), clean.c_str()) != 0) {
        const int error = errno;
        if (had_old) ::rename(old.c_str(), clean.c_str());  // put the previous version back
        fs::remove_all(staging, ec);
        fail_errno(error, dir);
    }
    fsync_path(parent, true);
    if (had_old) fs::remove_all(old, ec);
}

bool recover_directory(const std::string& dir) {
    const fs::path target = fs::path(dir).lexically_normal();
    const std::string clean = target.has_filename() ? target.string() : target.parent_path().string();
    const fs::path parent = parent_of(clean);
    const std::string base = fs::path(clean).filename().string();
    std::error_code ec;
    if (!fs::is_directory(parent, ec)) return false;

    std::vector<fs::path> olds, stagings;
    for (const auto& entry : fs::directory_iterator(parent, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.starts_with(base + ".old-")) olds.push_back(entry.path());
        else if (name.starts_with(base + ".tmp-")) stagings.push_back(entry.path());
    }
    bool restored = false;
    if (!fs::exists(clean, ec) && !olds.empty()) {
        // Interrupted between "old out of the way" and "new into place": the old version is complete.
        if (::rename(olds.front().c_str(), clean.c_str()) != 0) fail_errno(errno, dir);
        olds.erase(olds.begin());
        restored = true;
    }
    for (const auto& path : olds) fs::remove_all(path, ec);
    for (const auto& path : stagings) fs::remove_all(path, ec);
    return restored;
}

}  // namespace bayun
