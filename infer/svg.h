// A tiny SVG writer for the pictures `bayun inspect` draws: a grid of attention heat maps (layers x heads),
// a labelled scatter plot (tokens on a 2-D projection of the embedding space), and a line chart (loss
// curves). Each function returns a complete, well-formed SVG document as a string; write_svg() saves it
// atomically. All text goes through escape_xml(), so token text such as "<", "&" or "\n" is safe.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bayun::svg {

// Text for XML content and attribute values: & < > " ' become entities; characters XML 1.0 forbids
// (control characters other than tab, newline, carriage return) and bytes that are not UTF-8 become
// visible escapes such as \x01, so the document always parses.
std::string escape_xml(std::string_view text);

// One heat map: values[r][c] in [0, 1] (an attention weight), drawn as a square from white to dark blue.
// Cells marked blank (the causal part of attention, which is 0 by construction) are drawn hatched-grey.
struct HeatMap {
    std::string title;                        // "layer 0, head 1"
    std::vector<std::string> row_labels;      // queries (one per row)
    std::vector<std::string> col_labels;      // keys (one per column)
    std::vector<std::vector<double>> values;  // (rows, cols)
    std::vector<std::vector<bool>> blank;     // (rows, cols) or empty: nothing blank
};
std::string heat_map_grid(const std::vector<HeatMap>& maps, int columns, const std::string& title);

struct ScatterPoint {
    double x = 0, y = 0;
    std::string label;
};
std::string scatter(const std::vector<ScatterPoint>& points, const std::string& title, const std::string& x_label,
                    const std::string& y_label);

struct Series {
    std::string name;                               // the legend entry
    std::vector<std::pair<double, double>> points;  // (x, y), x increasing
    std::string color;                              // "#1f77b4"
    double width = 2.0;                             // stroke width
};
std::string line_chart(const std::vector<Series>& series, const std::string& title, const std::string& x_label,
                       const std::string& y_label);

// Writes `svg` to `path` through a temporary file and a rename: never a half-written picture. Throws
// bayun::Error naming the path when it cannot be written.
void write_svg(const std::string& path, const std::string& svg);

}  // namespace bayun::svg
