// The SVG writer: plain strings of <rect>, <circle>, <polyline> and <text> elements, positioned by hand.
// Coordinates are pixels; y grows downwards, so charts flip their y values.
#include "infer/svg.h"

#include "autograd/error.h"
#include "data/utf8.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

namespace bayun::svg {

std::string escape_xml(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    size_t pos = 0;
    while (pos < text.size()) {
        const Utf8Step step = utf8_step(text, pos);
        if (step.status != Utf8Status::Ok) {  // a byte that is not UTF-8: show it, do not emit it
            out += fmt::format("\\x{:02X}", static_cast<unsigned char>(text[pos]));
            pos += 1;
            continue;
        }
        const char32_t c = step.code;
        if (c == '&') out += "&amp;";
        else if (c == '<') out += "&lt;";
        else if (c == '>') out += "&gt;";
        else if (c == '"') out += "&quot;";
        else if (c == '\'') out += "&apos;";
        else if (c == '\n') out += "\\n";  // a label stays on one line
        else if (c == '\t') out += "\\t";
        else if (c == '\r') out += "\\r";
        else if (c < 0x20 || c == 0x7F || c == 0xFFFE || c == 0xFFFF) out += fmt::format("\\x{:02X}", static_cast<uint32_t>(c));
        else out.append(text.substr(pos, step.length));
        pos += step.length;
    }
    return out;
}

namespace {

constexpr const char* kFont = "font-family=\"DejaVu Sans Mono, Menlo, Consolas, monospace\"";

std::string header(double width, double height) {
    return fmt::format("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                       "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0:.0f}\" height=\"{1:.0f}\" "
                       "viewBox=\"0 0 {0:.0f} {1:.0f}\" {2} font-size=\"11\">\n"
                       "<rect x=\"0\" y=\"0\" width=\"{0:.0f}\" height=\"{1:.0f}\" fill=\"white\"/>\n",
                       width, height, kFont);
}

std::string text_at(double x, double y, const std::string& text, const char* anchor = "start", int size = 11,
                    const std::string& extra = "") {
    return fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"{}\" font-size=\"{}\"{}>{}</text>\n", x, y,
                       anchor, size, extra.empty() ? "" : " " + extra, escape_xml(text));
}

// White (0) to dark blue (1), as matplotlib's "Blues".
std::string blue(double v) {
    v = std::clamp(v, 0.0, 1.0);
    const auto mix = [v](int lo, int hi) { return static_cast<int>(std::lround(lo + (hi - lo) * v)); };
    return fmt::format("#{:02x}{:02x}{:02x}", mix(255, 8), mix(255, 48), mix(255, 107));
}

// About five round tick values covering [lo, hi].
std::vector<double> ticks(double lo, double hi) {
    const double span = hi - lo;
    if (!(span > 0)) return {lo};
    const double raw = span / 5.0;
    const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
    double step = magnitude;
    for (double m : {1.0, 2.0, 5.0, 10.0})
        if (m * magnitude >= raw) {
            step = m * magnitude;
            break;
        }
    std::vector<double> out;
    for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
    return out;
}

std::string tick_label(double v) { return fmt::format("{:.4g}", v); }

// Maps data coordinates into a plot rectangle.
struct Frame {
    double left, top, width, height;  // pixels
    double x0, x1, y0, y1;            // data range
    double px(double x) const { return left + (x - x0) / (x1 - x0) * width; }
    double py(double y) const { return top + height - (y - y0) / (y1 - y0) * height; }
};

// Widens a degenerate or empty range so that division by its span is safe.
void widen(double& lo, double& hi, double pad_fraction) {
    if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;
    if (hi - lo <= 1e-12) {
        lo -= 1.0;
        hi += 1.0;
        return;
    }
    const double pad = (hi - lo) * pad_fraction;
    lo -= pad;
    hi += pad;
}

std::string axes(const Frame& f, const std::string& x_label, const std::string& y_label) {
    std::string out = fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"none\" "
                                  "stroke=\"#444\"/>\n", f.left, f.top, f.width, f.height);
    for (double t : ticks(f.x0, f.x1)) {
        const double x = f.px(t);
        out += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"#ddd\"/>\n", x,
                           f.top, f.top + f.height);
        out += text_at(x, f.top + f.height + 14, tick_label(t), "middle");
    }
    for (double t : ticks(f.y0, f.y1)) {
        const double y = f.py(t);
        out += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\" stroke=\"#ddd\"/>\n",
                           f.left, y, f.left + f.width);
        out += text_at(f.left - 6, y + 4, tick_label(t), "end");
    }
    out += text_at(f.left + f.width / 2, f.top + f.height + 32, x_label, "middle", 12);
    out += text_at(16, f.top + f.height / 2, y_label, "middle", 12,
                   fmt::format("transform=\"rotate(-90 16 {:.1f})\"", f.top + f.height / 2));
    return out;
}

}  // namespace

std::string heat_map_grid(const std::vector<HeatMap>& maps, int columns, const std::string& title) {
    columns = std::max(1, columns);
    size_t n = 0, label_chars = 1;
    for (const HeatMap& m : maps) {
        n = std::max({n, m.row_labels.size(), m.col_labels.size()});
        for (const auto& l : m.row_labels) label_chars = std::max(label_chars, escape_xml(l).size());
        for (const auto& l : m.col_labels) label_chars = std::max(label_chars, escape_xml(l).size());
    }
    label_chars = std::min<size_t>(label_chars, 16);
    const double cell = n == 0 ? 20.0 : std::clamp(360.0 / static_cast<double>(n), 6.0, 24.0);
    const double label_w = 7.0 * static_cast<double>(label_chars) + 10.0;  // row labels on the left
    const double label_h = 7.0 * static_cast<double>(label_chars) + 10.0;  // rotated key labels on top
    const double panel_w = label_w + cell * static_cast<double>(n) + 24.0;
    const double panel_h = 20.0 + label_h + cell * static_cast<double>(n) + 24.0;
    const int rows = static_cast<int>((maps.size() + columns - 1) / columns);
    const double width = std::max(320.0, panel_w * columns + 20.0);
    const double height = 60.0 + panel_h * std::max(rows, 1);

    std::string out = header(width, height);
    out += text_at(10, 22, title, "start", 14, "font-weight=\"bold\"");
    out += text_at(10, 40, "rows: the query token; columns: the keys it attends to; darker = more weight; "
                           "grey = the future (masked)", "start", 10, "fill=\"#555\"");
    for (size_t i = 0; i < maps.size(); ++i) {
        const HeatMap& m = maps[i];
        const double ox = 10.0 + panel_w * static_cast<double>(i % columns);
        const double oy = 60.0 + panel_h * static_cast<double>(i / columns);
        const double gx = ox + label_w, gy = oy + 20.0 + label_h;  // the grid's top-left corner
        out += fmt::format("<g>\n");
        out += text_at(gx, oy + 12, m.title, "start", 12, "font-weight=\"bold\"");
        for (size_t c = 0; c < m.col_labels.size(); ++c) {
            const double x = gx + cell * (static_cast<double>(c) + 0.5) + 4, y = gy - 4;
            out += text_at(x, y, m.col_labels[c], "start", 10, fmt::format("transform=\"rotate(-90 {:.1f} {:.1f})\"", x, y));
        }
        for (size_t r = 0; r < m.values.size(); ++r) {
            if (r < m.row_labels.size())
                out += text_at(gx - 4, gy + cell * (static_cast<double>(r) + 0.5) + 4, m.row_labels[r], "end", 10);
            for (size_t c = 0; c < m.values[r].size(); ++c) {
                const bool blank = r < m.blank.size() && c < m.blank[r].size() && m.blank[r][c];
                const double v = m.values[r][c];
                const std::string tip = fmt::format("{} -> {}: {:.1f}%", r < m.row_labels.size() ? m.row_labels[r] : "",
                                                    c < m.col_labels.size() ? m.col_labels[c] : "", 100.0 * v);
                out += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\" "
                                   "stroke=\"#fff\" stroke-width=\"0.5\"><title>{}</title></rect>\n",
                                   gx + cell * static_cast<double>(c), gy + cell * static_cast<double>(r), cell, cell,
                                   blank ? "#e8e8e8" : blue(v), escape_xml(tip));
            }
        }
        out += "</g>\n";
    }
    out += "</svg>\n";
    return out;
}

std::string scatter(const std::vector<ScatterPoint>& points, const std::string& title, const std::string& x_label,
                    const std::string& y_label) {
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (const ScatterPoint& p : points) {
        x0 = std::min(x0, p.x), x1 = std::max(x1, p.x);
        y0 = std::min(y0, p.y), y1 = std::max(y1, p.y);
    }
    widen(x0, x1, 0.1);
    widen(y0, y1, 0.1);
    const Frame f{70, 50, 560, 440, x0, x1, y0, y1};
    std::string out = header(660, 560);
    out += text_at(10, 24, title, "start", 14, "font-weight=\"bold\"");
    out += axes(f, x_label, y_label);
    if (x0 < 0 && x1 > 0)
        out += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"#999\" "
                           "stroke-dasharray=\"4 3\"/>\n", f.px(0), f.top, f.top + f.height);
    if (y0 < 0 && y1 > 0)
        out += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\" stroke=\"#999\" "
                           "stroke-dasharray=\"4 3\"/>\n", f.left, f.py(0), f.left + f.width);
    for (const ScatterPoint& p : points) {
        out += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4\" fill=\"#1f77b4\"/>\n", f.px(p.x), f.py(p.y));
        out += text_at(f.px(p.x) + 6, f.py(p.y) - 5, p.label, "start", 12);
    }
    out += "</svg>\n";
    return out;
}

std::string line_chart(const std::vector<Series>& series, const std::string& title, const std::string& x_label,
                       const std::string& y_label) {
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (const Series& s : series)
        for (const auto& [x, y] : s.points) {
            if (!std::isfinite(x) || !std::isfinite(y)) continue;
            x0 = std::min(x0, x), x1 = std::max(x1, x);
            y0 = std::min(y0, y), y1 = std::max(y1, y);
        }
    if (x1 - x0 <= 1e-12) widen(x0, x1, 0.0);
    widen(y0, y1, 0.05);
    const Frame f{70, 50, 640, 360, x0, x1, y0, y1};
    std::string out = header(740, 470);
    out += text_at(10, 24, title, "start", 14, "font-weight=\"bold\"");
    out += axes(f, x_label, y_label);
    double legend_y = f.top + 16;
    for (const Series& s : series) {
        std::string points;
        for (const auto& [x, y] : s.points)
            if (std::isfinite(x) && std::isfinite(y)) points += fmt::format("{:.1f},{:.1f} ", f.px(x), f.py(y));
        if (!points.empty()) points.pop_back();
        out += fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{:.1f}\" "
                           "stroke-linejoin=\"round\"/>\n", points, escape_xml(s.color), s.width);
        if (s.points.size() <= 60)  // few points (evaluations): mark each one
            for (const auto& [x, y] : s.points)
                if (std::isfinite(x) && std::isfinite(y))
                    out += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"{}\"/>\n", f.px(x), f.py(y),
                                       escape_xml(s.color));
        const double lx = f.left + f.width - 170;
        out += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" "
                           "stroke-width=\"3\"/>\n", lx, legend_y - 4, lx + 24, legend_y - 4, escape_xml(s.color));
        out += text_at(lx + 30, legend_y, s.name);
        legend_y += 16;
    }
    out += "</svg>\n";
    return out;
}

void write_svg(const std::string& path, const std::string& svg) {
    namespace fs = std::filesystem;
    const fs::path target(path);
    if (target.has_parent_path() && !fs::is_directory(target.parent_path()))
        fail("svg", "cannot write '{}': the directory '{}' does not exist (create it first?)", path,
             target.parent_path().string());
    const std::string temporary = path + ".tmp";
    {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        if (!out) fail("svg", "cannot write '{}' (is the location writable?)", temporary);
        out.write(svg.data(), static_cast<std::streamsize>(svg.size()));
        out.flush();
        if (!out) {
            out.close();
            std::remove(temporary.c_str());
            fail("svg", "writing '{}' failed (is the disk full?)", temporary);
        }
    }
    std::error_code ec;
    fs::rename(temporary, target, ec);
    if (ec) {
        std::remove(temporary.c_str());
        fail("svg", "cannot rename '{}' to '{}': {}", temporary, path, ec.message());
    }
}

}  // namespace bayun::svg
