// The safetensors reader and writer (see safetensors.h): an 8-byte length, a JSON header, raw values.
// The reader trusts nothing in the file: every length and offset is checked against the file size before use.
#include "train/safetensors.h"

#include "train/atomic_file.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

namespace bayun {

static_assert(std::endian::native == std::endian::little,
              "safetensors stores little-endian values; bayun copies them as they are and needs a little-endian CPU");

namespace {

using json = nlohmann::json;
constexpr const char* where = "checkpoint";
constexpr uint64_t max_header_bytes = 100'000'000;  // the limit of the reference (Rust) implementation

// "a, b, c" for the first few names, then "... and N more", so one error line stays readable.
std::string name_list(const std::vector<std::string>& names) {
    constexpr size_t shown = 5;
    std::string out;
    for (size_t i = 0; i < std::min(names.size(), shown); ++i) out += (i ? ", " : "") + names[i];
    if (names.size() > shown) out += fmt::format(", ... and {} more", names.size() - shown);
    return out;
}

// One tensor entry of the header, after validation.
struct Entry {
    std::string name;
    std::string dtype;     // "F32", "F16" or "BF16"
    Shape shape;
    uint64_t begin = 0;    // byte offsets into the data section
    uint64_t end = 0;
};

uint64_t dtype_bytes(const std::string& dtype) {
    if (dtype == "F32") return 4;
    if (dtype == "F16" || dtype == "BF16") return 2;
    return 0;  // not supported
}

// Checks one "name": {"dtype": ..., "shape": [...], "data_offsets": [begin, end]} against the data section.
Entry parse_entry(const std::string& path, const std::string& name, const json& value, uint64_t data_bytes) {
    auto bad = [&](const std::string& what) -> Entry {
        fail(where, "'{}': tensor '{}' {} (corrupt file?)", path, name, what);
    };
    if (!value.is_object()) return bad(fmt::format("should be an object with dtype, shape and data_offsets, found {}",
                                                   value.dump()));
    for (const char* key : {"dtype", "shape", "data_offsets"})
        if (!value.contains(key)) return bad(fmt::format("has no \"{}\"", key));

    Entry e;
    e.name = name;
    if (!value["dtype"].is_string()) return bad(fmt::format("has dtype {}, expected a string", value["dtype"].dump()));
    e.dtype = value["dtype"].get<std::string>();
    if (dtype_bytes(e.dtype) == 0)
        fail(where, "'{}': tensor '{}' has dtype {}; bayun reads F32, F16 and BF16 (convert the checkpoint to "
             "float32, e.g. tensor.float() in PyTorch)", path, name, e.dtype);

    const json& shape = value["shape"];
    if (!shape.is_array()) return bad(fmt::format("has shape {}, expected a list of sizes", shape.dump()));
    for (const json& d : shape) {
        // nlohmann parses non-negative integers as unsigned; negatives and fractions fail here.
        if (!d.is_number_unsigned() || d.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
            return bad(fmt::format("has shape {}, expected non-negative integer sizes", shape.dump()));
        e.shape.push_back(d.get<int64_t>());
    }
    if (e.shape.size() > 4)
        fail(where, "'{}': tensor '{}' has rank {} (shape {}); bayun tensors have rank 0 to 4", path, name,
             e.shape.size(), shape_str(e.shape));

    const json& offsets = value["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned())
        return bad(fmt::format("has data_offsets {}, expected [begin, end] with 0 <= begin <= end", offsets.dump()));
    e.begin = offsets[0].get<uint64_t>();
    e.end = offsets[1].get<uint64_t>();
    if (e.begin > e.end || e.end > data_bytes)
        fail(where, "'{}': tensor '{}' has data_offsets [{}, {}] outside the data section of {} bytes "
             "(truncated or corrupt file?)", path, name, e.begin, e.end, data_bytes);

    // The byte count the shape needs, saturating instead of overflowing on absurd shapes; even with a zero
    // size somewhere, the other sizes must multiply within int64 (Tensor computes the product in order).
    uint64_t needed = dtype_bytes(e.dtype), product = 1;
    for (int64_t d : e.shape) {
        const uint64_t size = static_cast<uint64_t>(d);
        needed = (size != 0 && needed > UINT64_MAX / size) ? UINT64_MAX : needed * size;
        if (size != 0) product = product > static_cast<uint64_t>(INT64_MAX) / size ? UINT64_MAX : product * size;
    }
    if (product > static_cast<uint64_t>(INT64_MAX)) needed = UINT64_MAX;
    if (needed != e.end - e.begin)
        fail(where, "'{}': tensor '{}' has shape {} of {} which needs {} bytes, but data_offsets [{}, {}] hold {} "
             "(corrupt file?)", path, name, shape_str(e.shape), e.dtype, needed, e.begin, e.end, e.end - e.begin);
    return e;
}

}  // namespace

// ---- dtype conversions --------------------------------------------------------------------------------------

// IEEE 754 half: 1 sign bit, 5 exponent bits (bias 15), 10 mantissa bits. Normal numbers move to float's
// 8-bit exponent (bias 127, so +112) and 23-bit mantissa (<< 13); subnormals are mantissa * 2^-24.
float f16_to_float(uint16_t bits) {
    const uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
    const uint32_t exponent = (bits >> 10) & 0x1fu;
    const uint32_t mantissa = bits & 0x3ffu;
    if (exponent == 0) {  // zero or subnormal
        const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
        return sign ? -magnitude : magnitude;
    }
    if (exponent == 31) return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));  // inf or NaN
    return std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

// bfloat16 is the top half of a float32: shift it back into place.
float bf16_to_float(uint16_t bits) { return std::bit_cast<float>(static_cast<uint32_t>(bits) << 16); }

// ---- writing ------------------------------------------------------------------------------------------------

void save_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
    // 1. The header: one entry per tensor, data packed in list order.
    json header = json::object();
    if (!metadata.empty()) header["__metadata__"] = metadata;
    uint64_t offset = 0;
    for (const NamedTensor& t : tensors) {
        if (t.name.empty() || t.name == "__metadata__")
            fail(where, "cannot write '{}': invalid tensor name '{}' (names must be non-empty and not __metadata__)",
                 path, t.name);
        if (header.contains(t.name))
            fail(where, "cannot write '{}': tensor name '{}' appears twice (names must be unique)", path, t.name);
        if (!t.tensor.defined()) fail(where, "cannot write '{}': tensor '{}' is undefined", path, t.name);
        const uint64_t bytes = static_cast<uint64_t>(t.tensor.numel()) * sizeof(float);
        header[t.name] = {{"dtype", "F32"}, {"shape", t.tensor.shape()}, {"data_offsets", {offset, offset + bytes}}};
        offset += bytes;
    }
    std::string text;
    try {
        text = header.dump();
    } catch (const json::exception& e) {
        fail(where, "cannot write '{}': a tensor name or metadata value is not valid UTF-8 ({})", path, e.what());
    }
    // 2. Pad with spaces so the data starts at a multiple of 8 bytes.
    text.append((8 - text.size() % 8) % 8, ' ');

    // 3. Length, header, values.
    char length[8];
    const uint64_t n = text.size();
    for (int i = 0; i < 8; ++i) length[i] = static_cast<char>((n >> (8 * i)) & 0xffu);  // little-endian
    AtomicFile out(path);
    out.write(length, sizeof(length));
    out.write(text);
    for (const NamedTensor& t : tensors) out.write(t.tensor.data(), static_cast<size_t>(t.tensor.numel()) * sizeof(float));
    out.commit();
}

// ---- reading ------------------------------------------------------------------------------------------------

SafetensorsFile load_safetensors(const std::string& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::exists(path, ec)) fail(where, "cannot read '{}': no such file (check the path or the run directory)", path);
    if (fs::is_directory(path, ec))
        fail(where, "cannot read '{}': it is a directory, expected a .safetensors file", path);
    const uint64_t file_bytes = fs::file_size(path, ec);
    if (ec) fail(where, "cannot read '{}': {} (is it a regular file?)", path, ec.message());
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(where, "cannot read '{}': {} (is the file readable?)", path, std::strerror(errno));

    // 1. The header length.
    if (file_bytes < 8)
        fail(where, "'{}': file is {} bytes, shorter than the 8-byte header length (truncated file, or not "
             "a safetensors file?)", path, file_bytes);
    unsigned char length[8];
    in.read(reinterpret_cast<char*>(length), 8);
    uint64_t header_bytes = 0;
    for (int i = 7; i >= 0; --i) header_bytes = (header_bytes << 8) | length[i];
    if (header_bytes > file_bytes - 8)
        fail(where, "'{}': header length {} exceeds file size {} (truncated file?)", path, header_bytes, file_bytes);
    if (header_bytes > max_header_bytes)
        fail(where, "'{}': header length {} exceeds the limit of {} bytes (not a safetensors file?)", path,
             header_bytes, max_header_bytes);

    // 2. The JSON header.
    std::string text(header_bytes, '\0');
    in.read(text.data(), static_cast<std::streamsize>(header_bytes));
    json header;
    try {
        header = json::parse(text);
    } catch (const json::parse_error& e) {
        fail(where, "'{}': the header is not valid JSON: {} (corrupt file, or not a safetensors file?)", path, e.what());
    }
    if (!header.is_object())
        fail(where, "'{}': the header is {}, expected a JSON object (not a safetensors file?)", path,
             header.type_name());

    SafetensorsFile file;
    const uint64_t data_bytes = file_bytes - 8 - header_bytes;
    std::vector<Entry> entries;
    for (const auto& [name, value] : header.items()) {
        if (name == "__metadata__") {
            if (!value.is_object()) fail(where, "'{}': __metadata__ is {}, expected an object", path, value.type_name());
            for (const auto& [key, v] : value.items()) {
                if (!v.is_string())
                    fail(where, "'{}': __metadata__ value '{}' is {}, expected a string", path, key, v.dump());
                file.metadata[key] = v.get<std::string>();
            }
            continue;
        }
        entries.push_back(parse_entry(path, name, value, data_bytes));
    }

    // 3. No two tensors may share bytes.
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
        return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    for (size_t i = 1; i < entries.size(); ++i)
        if (entries[i].begin < entries[i - 1].end)
            fail(where, "'{}': tensors '{}' [{}, {}] and '{}' [{}, {}] overlap (corrupt file?)", path,
                 entries[i - 1].name, entries[i - 1].begin, entries[i - 1].end, entries[i].name, entries[i].begin,
                 entries[i].end);

    // 4. The values, converted to float32.
    std::vector<char> data(data_bytes);
    in.read(data.data(), static_cast<std::streamsize>(data_bytes));
    if (!in) fail(where, "cannot read '{}': the file ended early (was it changed while reading?)", path);
    for (const Entry& e : entries) {
        Tensor t = Tensor::zeros(e.shape);
        float* out = t.data();
        const char* src = data.data() + e.begin;
        const int64_t n = t.numel();
        if (n == 0) {
            // nothing to copy (and an empty tensor's data() may be null, which memcpy must not see)
        } else if (e.dtype == "F32") {
            std::memcpy(out, src, static_cast<size_t>(n) * sizeof(float));
        } else {
            for (int64_t i = 0; i < n; ++i) {
                uint16_t bits;
                std::memcpy(&bits, src + 2 * i, 2);
                out[i] = e.dtype == "F16" ? f16_to_float(bits) : bf16_to_float(bits);
            }
        }
        t.set_label(e.name);
        file.tensors.push_back({e.name, std::move(t)});
    }
    return file;
}

void load_into(const SafetensorsFile& file, const std::vector<NamedTensor>& params, const std::string& path) {
    // 1. Compare names and shapes, collecting every problem before touching any parameter.
    std::map<std::string, const Tensor*> found;
    for (const NamedTensor& t : file.tensors) found[t.name] = &t.tensor;
    std::set<std::string> expected;
    std::vector<std::string> missing, unexpected, mismatched;
    for (const NamedTensor& p : params) {
        if (!expected.insert(p.name).second)
            fail(where, "loading '{}': the parameter list names '{}' twice (names must be unique)", path, p.name);
        auto it = found.find(p.name);
        if (it == found.end()) missing.push_back(p.name);
        else if (it->second->shape() != p.tensor.shape())
            mismatched.push_back(fmt::format("{} expected {} found {}", p.name, shape_str(p.tensor.shape()),
                                             shape_str(it->second->shape())));
    }
    for (const NamedTensor& t : file.tensors)
        if (!expected.contains(t.name)) unexpected.push_back(t.name);

    if (!missing.empty() || !unexpected.empty() || !mismatched.empty()) {
        std::vector<std::string> problems;
        if (!missing.empty()) problems.push_back(fmt::format("{} missing ({})", missing.size(), name_list(missing)));
        if (!unexpected.empty())
            problems.push_back(fmt::format("{} unexpected ({})", unexpected.size(), name_list(unexpected)));
        if (!mismatched.empty())
            problems.push_back(fmt::format("{} with a different shape ({})", mismatched.size(), name_list(mismatched)));
        fail(where, "'{}' does not match the model: {} (was it saved with a different model configuration?)", path,
             fmt::join(problems, "; "));
    }

    // 2. Copy the values into the parameters' own storage.
    for (const NamedTensor& p : params) {
        Tensor destination = p.tensor;
        destination.copy_from(*found.at(p.name));
    }
}

}  // namespace bayun
