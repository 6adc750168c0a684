// Atomic files and directories: a save either completes or leaves the previous version untouched.
// A file is written to `path.tmp-<pid>`, flushed and fsync'ed, then renamed over `path` (rename within a
// directory is atomic on POSIX file systems). A directory (a checkpoint: weights, optimizer state, config)
// is built as `dir.tmp-<pid>/` and swapped in. Whenever a run is killed, the disk holds the old version
// or the new one, never half of each.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace bayun {

// Writes one file atomically through a temporary file beside it:
//   AtomicFile out("runs/tale/model.safetensors");   // creates runs/tale/model.safetensors.tmp-<pid>
//   out.write(header);
//   out.write(values.data(), values.size() * sizeof(float));
//   out.commit();                                      // fsync, then rename over the real name
// Without commit() (an exception on the way), the destructor removes the temporary file.
// Errors are bayun::Error: "[checkpoint] cannot write 'runs/x/last': Permission denied (is the output
// directory writable?)".
class AtomicFile {
public:
    explicit AtomicFile(std::string path);
    ~AtomicFile();
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;

    void write(const void* data, size_t size);
    void write(std::string_view bytes) { write(bytes.data(), bytes.size()); }
    void commit();  // flush to disk (fsync), close, rename over path(), fsync the directory

    const std::string& path() const { return path_; }
    const std::string& temp_path() const { return temp_path_; }

private:
    std::string path_;       // the name readers see
    std::string temp_path_;  // path_ + ".tmp-<pid>", where the bytes go until commit()
    int fd_ = -1;
    bool committed_ = false;
};

// The one-call form: the whole file at once.
void write_file_atomic(const std::string& path, std::string_view bytes);

// Builds the directory `dir` atomically. `fill` writes the files into a fresh staging directory (its path is
// the argument); every file in it is then fsync'ed and the staging directory is swapped in:
//   1. rename dir              -> dir.old-<pid>   (when dir exists)
//   2. rename dir.tmp-<pid>    -> dir
//   3. remove dir.old-<pid>
// A crash before 2 leaves the old `dir` as it was; between 1 and 2 the old version waits intact in
// dir.old-<pid> (recover_directory puts it back); after 2 the new version is in place. If `fill` throws,
// the staging directory is removed and `dir` is untouched. Parent directories are created as needed.
// NOTE: Linux's renameat2(RENAME_EXCHANGE) could swap in one step; we use plain rename() because it is
// portable and every step can be watched in a file browser.
void write_directory_atomic(const std::string& dir, const std::function<void(const std::string& staging)>& fill);

// Repairs what a crash inside write_directory_atomic may leave behind: when `dir` is missing but a
// `dir.old-<pid>` exists, renames the old version back (returns true). Then removes leftover staging
// (`dir.tmp-*`) and old (`dir.old-*`) directories. Call it before loading or saving a checkpoint, while no
// other process is saving to `dir`.
bool recover_directory(const std::string& dir);

}  // namespace bayun
