// Helpers for the inspection tests (tests/infer/test_inspect.cpp and tests/cli/test_cli_inspect.cpp):
// a tiny checkpoint trained in a moment, and a small XML well-formedness checker for the SVG pictures.
#pragma once

#include "train/trainer.h"

#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace bayun::test {

// A run directory with a micro model trained for 30 steps on a short tale (char tokenizer, 1 layer,
// 2 heads, C = 16, context 16). Trained once per test process, in a directory of its own (ctest may run
// several test processes at once), and removed when the process ends.
inline const std::filesystem::path& tiny_run() {
    struct Run {
        std::filesystem::path root;
        Run() {
            root = std::filesystem::path(BAYUN_BINARY_DIR) / "test_tmp" / ("inspect-" + std::to_string(::getpid()));
            std::filesystem::remove_all(root);
            std::filesystem::create_directories(root / "corpus");
            std::string text;
            const char* lines[] = {"The learned cat walks round the oak and tells a tale.\n",
                                   "The fox ran to the forest and the wolf ran after him.\n",
                                   "Ivan the fool said that he has seen much and knows much.\n",
                                   "Baba Yaga sat in her hut on hen's legs.\n"};
            for (int i = 0; i < 60; ++i) text += lines[(i * 7 + i / 3) % 4];
            std::ofstream(root / "corpus" / "tale.txt") << text;
            TrainConfig c = preset_config("micro");
            c.corpus = {(root / "corpus" / "tale.txt").string()};
            c.out_dir = (root / "run").string();
            c.iters = 30;
            c.eval_interval = 10;
            c.eval_iters = 1;
            c.batch = 4;
            c.sample_tokens = 0;
            c.threads = 1;
            train(c);
        }
        ~Run() {
            std::error_code ec;
            std::filesystem::remove_all(root, ec);
        }
    };
    static const Run run;
    static const std::filesystem::path dir = run.root / "run";
    return dir;
}

inline std::string read_text(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// Checks that `xml` is a well-formed XML document of the kind our SVG writer produces: an optional
// <?xml ...?> declaration, then exactly one root element; every tag closed in order; attributes quoted
// and not repeated; '&' only in the five named entities or numeric references; no '<' in text or
// attribute values; no control characters. Returns "" when well-formed, else what is wrong and where.
inline std::string xml_problem(const std::string& xml) {
    std::vector<std::string> open;
    size_t pos = 0, roots = 0;
    const auto at = [&](size_t p) { return " at byte " + std::to_string(p); };
    const auto name_char = [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == ':' || c == '.';
    };
    const auto check_text = [&](size_t from, size_t to) -> std::string {
        for (size_t i = from; i < to; ++i) {
            const unsigned char c = static_cast<unsigned char>(xml[i]);
            if (c < 0x20 && c != '\n' && c != '\t' && c != '\r') return "control character" + at(i);
            if (c == '<') return "'<' in text or attribute" + at(i);
            if (c == '&') {
                const size_t semi = xml.find(';', i);
                if (semi == std::string::npos || semi > to) return "unterminated entity" + at(i);
                const std::string entity = xml.substr(i + 1, semi - i - 1);
                const bool named = entity == "amp" || entity == "lt" || entity == "gt" || entity == "quot" ||
                                   entity == "apos";
                const bool numeric = entity.size() > 1 && entity[0] == '#';
                if (!named && !numeric) return "unknown entity &" + entity + ";" + at(i);
            }
        }
        return "";
    };
    if (xml.starts_with("<?xml")) {
        pos = xml.find("?>");
        if (pos == std::string::npos) return "unterminated XML declaration";
        pos += 2;
    }
    while (pos < xml.size()) {
        const size_t lt = xml.find('<', pos);
        const size_t text_end = lt == std::string::npos ? xml.size() : lt;
        if (open.empty()) {
            for (size_t i = pos; i < text_end; ++i)
                if (!std::isspace(static_cast<unsigned char>(xml[i]))) return "text outside the root element" + at(i);
        } else if (std::string p = check_text(pos, text_end); !p.empty()) {
            return p;
        }
        if (lt == std::string::npos) break;
        const size_t gt = xml.find('>', lt);
        if (gt == std::string::npos) return "unterminated tag" + at(lt);
        std::string tag = xml.substr(lt + 1, gt - lt - 1);
        pos = gt + 1;
        if (tag.starts_with("!--")) {
            if (!tag.ends_with("--")) return "unterminated comment" + at(lt);
            continue;
        }
        if (tag.starts_with("/")) {
            const std::string name = tag.substr(1);
            if (open.empty() || open.back() != name)
                return "closing </" + name + "> does not match <" + (open.empty() ? "" : open.back()) + ">" + at(lt);
            open.pop_back();
            continue;
        }
        const bool self_closing = tag.ends_with("/");
        if (self_closing) tag.pop_back();
        size_t i = 0;
        while (i < tag.size() && name_char(tag[i])) ++i;
        const std::string name = tag.substr(0, i);
        if (name.empty()) return "a tag without a name" + at(lt);
        std::vector<std::string> attributes;
        while (true) {
            while (i < tag.size() && std::isspace(static_cast<unsigned char>(tag[i]))) ++i;
            if (i >= tag.size()) break;
            const size_t start = i;
            while (i < tag.size() && name_char(tag[i])) ++i;
            const std::string attribute = tag.substr(start, i - start);
            if (attribute.empty() || i >= tag.size() || tag[i] != '=') return "bad attribute in <" + name + ">" + at(lt);
            for (const std::string& a : attributes)
                if (a == attribute) return "attribute " + attribute + " repeated in <" + name + ">" + at(lt);
            attributes.push_back(attribute);
            ++i;
            if (i >= tag.size() || (tag[i] != '"' && tag[i] != '\'')) return "unquoted attribute value" + at(lt);
            const char quote = tag[i];
            const size_t close = tag.find(quote, i + 1);
            if (close == std::string::npos) return "unterminated attribute value" + at(lt);
            if (std::string p = check_text(lt + 1 + i + 1, lt + 1 + close); !p.empty()) return p;
            i = close + 1;
        }
        if (open.empty() && ++roots > 1) return "more than one root element" + at(lt);
        if (!self_closing) open.push_back(name);
    }
    if (!open.empty()) return "<" + open.back() + "> is never closed";
    if (roots != 1) return "no root element";
    return "";
}

}  // namespace bayun::test
