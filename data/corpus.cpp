// Loading, checking and splitting the corpus (see corpus.h), and the Project Gutenberg stripping rules.
#include "data/corpus.h"

#include "autograd/error.h"
#include "data/utf8.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace bayun {

size_t Corpus::bytes() const {
    size_t total = 0;
    for (const Document& d : documents) total += d.text.size();
    return total;
}

std::string normalise_text(std::string_view raw, const std::string& name) {
    // Validate before normalising, so the line and byte offset refer to the file as it is on disk.
    if (const auto bad = find_invalid_utf8(raw)) {
        const size_t line = 1 + static_cast<size_t>(std::count(raw.begin(), raw.begin() + *bad, '\n'));
        const size_t line_start = raw.rfind('\n', *bad == 0 ? 0 : *bad - 1);
        const size_t column = *bad - (line_start == std::string_view::npos || *bad == 0 ? 0 : line_start + 1) + 1;
        fail("corpus", "'{}': invalid UTF-8 at line {}, column {} (byte offset {}, byte 0x{:02X}) "
             "(is the file in another encoding? save it as UTF-8)",
             name, line, column, *bad, static_cast<unsigned char>(raw[*bad]));
    }
    if (raw.substr(0, 3) == "\xEF\xBB\xBF") raw.remove_prefix(3);
    std::string text;
    text.reserve(raw.size());
    for (size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] != '\r') {
            text += raw[i];
        } else {
            text += '\n';                                          // CR LF or a lone CR becomes LF
            if (i + 1 < raw.size() && raw[i + 1] == '\n') ++i;
        }
    }
    return text;
}

namespace {
std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail("corpus", "'{}': cannot open the file for reading (check its permissions)", path.string());
    std::ostringstream buffer;
    buffer << in.rdbuf();
    if (in.bad()) fail("corpus", "'{}': read error", path.string());
    return std::move(buffer).str();
}

std::vector<fs::path> txt_files_in(const fs::path& dir) {
    std::vector<fs::path> files;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec))
        if (entry.path().extension() == ".txt" && entry.is_regular_file()) files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    return files;
}

bool has_txt(const fs::path& dir) {
    std::error_code ec;
    return fs::is_directory(dir, ec) && !txt_files_in(dir).empty();
}
}  // namespace

Corpus load_corpus(const std::vector<std::string>& paths) {
    if (paths.empty()) fail("corpus", "no corpus files given (pass files or a directory of .txt files)");
    std::vector<fs::path> files;
    for (const std::string& p : paths) {
        std::error_code ec;
        if (fs::is_directory(p, ec)) {
            auto in_dir = txt_files_in(p);
            if (in_dir.empty()) fail("corpus", "'{}': the directory has no .txt files (run 'bayun corpus fetch'?)", p);
            files.insert(files.end(), in_dir.begin(), in_dir.end());
        } else if (fs::exists(p, ec)) {
            files.emplace_back(p);
        } else {
            fail("corpus", "'{}': no such file or directory", p);
        }
    }
    Corpus corpus;
    for (const fs::path& file : files) {
        std::string text = normalise_text(read_file(file), file.string());
        if (text.empty()) fail("corpus", "'{}': the file is empty (an empty corpus cannot train anything)", file.string());
        corpus.documents.push_back({file.string(), std::move(text)});
    }
    return corpus;
}

std::string find_repo_root() {
    // A repository root holds CMakeLists.txt and this header.
    const auto is_root = [](const fs::path& dir) {
        std::error_code ec;
        return fs::exists(dir / "CMakeLists.txt", ec) && fs::exists(dir / "data" / "corpus.h", ec);
    };
    std::vector<fs::path> starts;
    std::error_code ec;
    starts.push_back(fs::current_path(ec));
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) starts.push_back(exe.parent_path());
#ifdef BAYUN_DATA_SOURCE_DIR
    starts.emplace_back(BAYUN_DATA_SOURCE_DIR);
#endif
    for (fs::path dir : starts) {
        for (int up = 0; up < 5 && !dir.empty(); ++up) {
            if (is_root(dir)) return fs::weakly_canonical(dir, ec).string();
            if (dir == dir.parent_path()) break;
            dir = dir.parent_path();
        }
    }
    return "";
}

std::string default_corpus_dir() {
    if (const char* env = std::getenv("BAYUN_CORPUS"); env && *env) {
        std::error_code ec;
        if (!fs::exists(env, ec)) fail("corpus", "BAYUN_CORPUS='{}' does not exist (unset it or point it at a directory of .txt files)", env);
        return env;
    }
    const std::string root = find_repo_root();
    if (!root.empty()) {
        const fs::path local = fs::path(root) / "data" / "corpus";
        if (has_txt(local)) return local.string();
        const fs::path shared = fs::path(root).parent_path() / "shared" / "corpus";
        if (has_txt(shared)) return fs::weakly_canonical(shared).string();
    }
    fail("corpus", "no corpus found: $BAYUN_CORPUS is not set, and neither data/corpus/ nor ../shared/corpus/ "
         "has .txt files{} (run 'bayun corpus fetch', or pass --corpus PATH)",
         root.empty() ? " (and the bayun repository root was not found from here)" : "");
}

std::vector<Split> split_documents(const Corpus& corpus, double val_fraction) {
    if (!(val_fraction >= 0.0 && val_fraction < 1.0))
        fail("corpus", "--val-fraction must be in [0, 1), got {} (0.1 keeps the last tenth of every book)", val_fraction);
    std::vector<Split> splits;
    for (const Document& doc : corpus.documents) {
        const std::string& text = doc.text;
        const size_t n = text.size();
        size_t cut = n - static_cast<size_t>(static_cast<double>(n) * val_fraction);
        if (val_fraction > 0.0 && cut < n) {
            // Prefer the line boundary nearest to the cut, if one is close enough.
            const size_t window = std::min<size_t>(2048, n / 100);
            size_t best = std::string::npos;
            const size_t after = text.find('\n', cut == 0 ? 0 : cut - 1);
            if (after != std::string::npos && after + 1 - cut <= window && after + 1 < n) best = after + 1;
            const size_t before = cut >= 2 ? text.rfind('\n', cut - 2) : std::string::npos;
            if (before != std::string::npos && cut - (before + 1) <= window &&
                (best == std::string::npos || cut - (before + 1) < best - cut))
                best = before + 1;
            if (best != std::string::npos) cut = best;
            // Otherwise step back to the start of the code point the cut falls in.
            while (cut > 0 && cut < n && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
            if (cut == 0) cut = utf8_step(text, 0).length;  // keep at least one character for training
        }
        splits.push_back({text.substr(0, cut), text.substr(cut)});
    }
    return splits;
}

namespace {
std::vector<std::string_view> split_lines(std::string_view text) {
    std::vector<std::string_view> lines;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        lines.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return lines;
}

bool starts_with_ci(std::string_view line, std::string_view prefix) {
    if (line.size() < prefix.size()) return false;
    for (size_t i = 0; i < prefix.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(line[i])) != std::tolower(static_cast<unsigned char>(prefix[i])))
            return false;
    return true;
}

std::string_view trim_left(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    return s;
}

bool is_blank(std::string_view s) { return s.find_first_not_of(" \t") == std::string_view::npos; }
}  // namespace

std::string strip_gutenberg(std::string_view raw) {
    std::string text = normalise_text(raw, "gutenberg download");
    std::vector<std::string_view> lines = split_lines(text);

    // 1. Header: everything up to and including "*** START OF ...". Footer: "*** END OF ..." onward.
    size_t begin = 0, end = lines.size();
    for (size_t i = 0; i < lines.size(); ++i) {
        const std::string_view line = trim_left(lines[i]);
        if (begin == 0 && starts_with_ci(line, "*** START OF")) begin = i + 1;
        else if (starts_with_ci(line, "*** END OF")) { end = i; break; }
    }
    if (begin > end) begin = end;
    std::vector<std::string_view> body(lines.begin() + begin, lines.begin() + end);

    // 2. Blank lines at the end, then a closing "End of [the] Project Gutenberg ..." paragraph, which
    //    may run over more than one line.
    const auto drop_trailing_blanks = [&] { while (!body.empty() && is_blank(body.back())) body.pop_back(); };
    drop_trailing_blanks();
    size_t para = body.size();
    while (para > 0 && !is_blank(body[para - 1])) --para;
    if (para < body.size()) {
        const std::string_view first = trim_left(body[para]);
        if (starts_with_ci(first, "End of the Project Gutenberg") || starts_with_ci(first, "End of Project Gutenberg")) {
            body.resize(para);
            drop_trailing_blanks();
        }
    }

    // 3. Blank lines at the start; one newline at the end.
    size_t first = 0;
    while (first < body.size() && is_blank(body[first])) ++first;
    std::string out;
    for (size_t i = first; i < body.size(); ++i) {
        out.append(body[i]);
        out += '\n';
    }
    return out;
}

const std::vector<GutenbergBook>& default_books() {
    static const std::vector<GutenbergBook> books = {
        {62509, "afanasyev-magnus-en.txt", "Russian Folk-Tales (Afanasyev, tr. Magnus)"},
        {22373, "afanasyev-ralston-en.txt", "Russian Fairy Tales (Ralston, after Afanasyev)"},
        {2591, "grimm-en.txt", "Grimms' Fairy Tales (tr. Taylor and Edwardes)"},
        {1597, "andersen-en.txt", "Andersen's Fairy Tales"},
    };
    return books;
}

std::string gutenberg_url(int ebook) {
    return fmt::format("https://www.gutenberg.org/cache/epub/{0}/pg{0}.txt", ebook);
}

}  // namespace bayun
