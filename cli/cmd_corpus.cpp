// `bayun corpus`: get the folk-tale corpus and look at it.
//   bayun corpus fetch [--out DIR] [--from DIR] [--offline]   download the default books from Project
//       Gutenberg (with curl), strip the licence header and footer, and write them to data/corpus/;
//       without internet, copy a local copy instead (--from, $BAYUN_CORPUS, or ../shared/corpus).
//   bayun corpus info [--corpus PATH...] [--val-fraction F]   bytes, characters and lines per file.
#include "autograd/error.h"
#include "cli/commands.h"
#include "data/corpus.h"
#include "data/utf8.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <sys/wait.h>

namespace fs = std::filesystem;

namespace bayun::cli {

namespace {

std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (const char c : s) out += (c == '\'') ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

std::string read_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream buffer;
    buffer << in.rdbuf();
    return std::move(buffer).str();
}

// Writes through a temporary file and a rename, so a failed fetch never leaves half a book.
void write_atomically(const fs::path& path, const std::string& text) {
    const fs::path tmp = path.string() + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out.write(text.data(), static_cast<std::streamsize>(text.size()));
        out.flush();
        if (!out) fail("corpus", "'{}': write failed (is the directory writable? disk full?)", tmp.string());
    }
    fs::rename(tmp, path);
}

// Downloads every default book into `out`; returns "" on success, else what went wrong.
std::string download_books(const fs::path& out) {
    std::vector<std::pair<fs::path, std::string>> books;  // (target, stripped text)
    for (const GutenbergBook& book : default_books()) {
        const fs::path raw = out / fmt::format(".pg{}.download", book.ebook);
        const std::string url = gutenberg_url(book.ebook);
        fmt::print("downloading #{} {} ...\n", book.ebook, url);
        const std::string command = fmt::format("curl -fsSL --connect-timeout 10 --max-time 300 -o {} {}",
                                                shell_quote(raw.string()), shell_quote(url));
        std::fflush(stdout);  // keep our lines in order with curl's messages
        const int raw_status = std::system(command.c_str());
        const int status = WIFEXITED(raw_status) ? WEXITSTATUS(raw_status) : raw_status;
        std::error_code ec;
        if (status != 0 || !fs::exists(raw, ec)) {
            fs::remove(raw, ec);
            return fmt::format("curl failed for ebook #{} with exit status {} (no internet?)", book.ebook, status);
        }
        std::string text = strip_gutenberg(read_bytes(raw));
        fs::remove(raw, ec);
        if (text.size() < 10000)
            return fmt::format("ebook #{} came back with only {} bytes of text (not the book?)", book.ebook, text.size());
        books.emplace_back(out / book.file, std::move(text));
    }
    for (const auto& [path, text] : books) write_atomically(path, text);
    return "";
}

// The local copy to fall back on: $BAYUN_CORPUS, else ../shared/corpus next to the repository.
std::string local_copy() {
    if (const char* env = std::getenv("BAYUN_CORPUS"); env && *env && fs::is_directory(env)) return env;
    std::vector<fs::path> bases;
    if (const std::string root = find_repo_root(); !root.empty()) bases.emplace_back(root);
    bases.push_back(fs::current_path());
    for (const fs::path& base : bases) {
        const fs::path shared = (fs::absolute(base) / ".." / "shared" / "corpus").lexically_normal();
        std::error_code ec;
        if (fs::is_directory(shared, ec)) return shared.string();
    }
    return "";
}

void copy_books(const fs::path& from, const fs::path& out) {
    // load_corpus checks every file (UTF-8, not empty); strip_gutenberg also cleans raw downloads and
    // leaves already-clean books unchanged.
    const Corpus corpus = load_corpus({from.string()});
    for (const Document& doc : corpus.documents) {
        const fs::path target = out / fs::path(doc.name).filename();
        write_atomically(target, strip_gutenberg(doc.text));
        fmt::print("copied {} -> {}\n", doc.name, target.string());
    }
}

int corpus_fetch(const Args& args) {
    po::options_description options("corpus fetch options");
    options.add_options()
        ("help", "show these options")
        ("out", po::value<std::string>(), "where to write the books (default: data/corpus in the repository)")
        ("from", po::value<std::string>(), "copy from this local directory instead of downloading")
        ("offline", "do not try to download; use the local copy ($BAYUN_CORPUS or ../shared/corpus)");
    po::variables_map vm;
    if (!parse("corpus fetch", args, options, vm)) return 0;

    fs::path out;
    if (vm.count("out")) out = vm["out"].as<std::string>();
    else out = fs::path(find_repo_root().empty() ? "." : find_repo_root()) / "data" / "corpus";
    std::error_code ec;
    fs::create_directories(out, ec);
    if (ec) fail("corpus", "cannot create '{}': {}", out.string(), ec.message());

    if (vm.count("from")) {
        copy_books(vm["from"].as<std::string>(), out);
    } else {
        std::string problem = "--offline was given";
        if (!vm.count("offline")) problem = download_books(out);
        if (problem.empty()) {
            fmt::print("downloaded {} books from Project Gutenberg\n", default_books().size());
        } else {
            const std::string local = local_copy();
            if (local.empty())
                fail("corpus", "could not download the books ({}) and found no local copy ($BAYUN_CORPUS is not set "
                     "and there is no ../shared/corpus/); connect to the internet, or pass --from DIR", problem);
            fmt::print("could not download the books ({}); using the local copy in {}\n", problem, local);
            copy_books(local, out);
        }
    }
    fmt::print("the corpus is in {}{}\n", out.string(), vm.count("out") ? "" : " (git ignores data/corpus/)");
    return 0;
}

int corpus_info(const Args& args) {
    po::options_description options("corpus info options");
    options.add_options()
        ("help", "show these options")
        ("corpus", po::value<std::vector<std::string>>()->multitoken(),
         "corpus files or directories of .txt (default: $BAYUN_CORPUS, data/corpus, ../shared/corpus)")
        ("val-fraction", po::value<double>()->default_value(0.1), "the last fraction of each book kept for validation");
    po::variables_map vm;
    if (!parse("corpus info", args, options, vm)) return 0;
    const std::vector<std::string> paths =
        vm.count("corpus") ? vm["corpus"].as<std::vector<std::string>>() : std::vector<std::string>{default_corpus_dir()};
    const Corpus corpus = load_corpus(paths);
    const auto splits = split_documents(corpus, vm["val-fraction"].as<double>());

    fmt::print("{:<40} {:>10} {:>10} {:>7} {:>9} {:>10} {:>9}\n", "file", "bytes", "chars", "lines", "non-ASCII",
               "train", "val");
    size_t bytes = 0, chars = 0, lines = 0, non_ascii = 0, train = 0, val = 0;
    std::set<char32_t> distinct;
    for (size_t i = 0; i < corpus.documents.size(); ++i) {
        const Document& doc = corpus.documents[i];
        const std::u32string cps = utf8_decode(doc.text);
        const size_t doc_lines = static_cast<size_t>(std::count(doc.text.begin(), doc.text.end(), '\n')) +
                                 (doc.text.back() == '\n' ? 0 : 1);
        const size_t doc_non_ascii = static_cast<size_t>(std::count_if(cps.begin(), cps.end(), [](char32_t c) { return c >= 0x80; }));
        distinct.insert(cps.begin(), cps.end());
        fmt::print("{:<40} {:>10} {:>10} {:>7} {:>9} {:>10} {:>9}\n", fs::path(doc.name).filename().string(),
                   doc.text.size(), cps.size(), doc_lines, doc_non_ascii, splits[i].train.size(), splits[i].val.size());
        bytes += doc.text.size(); chars += cps.size(); lines += doc_lines; non_ascii += doc_non_ascii;
        train += splits[i].train.size(); val += splits[i].val.size();
    }
    fmt::print("{:<40} {:>10} {:>10} {:>7} {:>9} {:>10} {:>9}\n", "total", bytes, chars, lines, non_ascii, train, val);
    fmt::print("{} distinct characters; train/val split in bytes (the last {} of each file is validation)\n",
               distinct.size(), vm["val-fraction"].as<double>());
    return 0;
}

}  // namespace

int run_corpus(const Args& args) {
    if (args.empty() || args[0] == "--help" || args[0] == "-h") {
        fmt::print("usage: bayun corpus fetch|info [options]   (bayun corpus <action> --help for its options)\n");
        return args.empty() ? 1 : 0;
    }
    const Args rest(args.begin() + 1, args.end());
    if (args[0] == "fetch") return corpus_fetch(rest);
    if (args[0] == "info") return corpus_info(rest);
    fail("corpus", "unknown action '{}' (expected fetch or info)", args[0]);
}

}  // namespace bayun::cli
