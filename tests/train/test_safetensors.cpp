// The safetensors reader and writer: round trips, a file written by Python, every kind of corrupt file,
// and loading into a parameter list by name.
#include "train/safetensors.h"

#include "support.h"
#include "temp_dir.h"

#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>

using namespace bayun;
using test::read_bytes;
using test::write_bytes;

namespace {

std::vector<NamedTensor> some_tensors() {
    return {{"transformer.wte.weight", test::random_tensor({5, 3}, 1, false)},
            {"transformer.h.0.ln_1.bias", test::random_tensor({3}, 2, false)},
            {"transformer.h.0.attn.c_attn.weight", test::random_tensor({2, 3, 4, 2}, 3, false)},
            {"scale", Tensor::scalar(0.125f)},
            {"empty", Tensor::zeros({0, 4})}};
}

bool bitwise_equal(const Tensor& a, const Tensor& b) {
    return a.shape() == b.shape() && (a.numel() == 0 ||
           std::memcmp(a.data(), b.data(), static_cast<size_t>(a.numel()) * sizeof(float)) == 0);
}

// A file from a header text and `data_bytes` zero bytes of data, for hand-made corrupt files.
void write_raw(const std::string& path, std::string header, size_t data_bytes) {
    std::string bytes(8, '\0');
    const uint64_t n = header.size();
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((n >> (8 * i)) & 0xff);
    write_bytes(path, bytes + header + std::string(data_bytes, '\0'));
}

}  // namespace

TEST_CASE("tensors and metadata survive a save and load, and saving again gives the same bytes", "[train][safetensors]") {
    test::TempDir dir;
    const auto tensors = some_tensors();
    const std::map<std::string, std::string> metadata{{"step", "5000"}, {"config", "{\"n_layer\": 4}"}};
    save_safetensors(dir / "a.safetensors", tensors, metadata);

    const SafetensorsFile file = load_safetensors(dir / "a.safetensors");
    CHECK(file.metadata == metadata);
    REQUIRE(file.tensors.size() == tensors.size());
    for (size_t i = 0; i < tensors.size(); ++i) {  // same order: the file keeps the data in list order
        INFO(tensors[i].name);
        CHECK(file.tensors[i].name == tensors[i].name);
        CHECK(bitwise_equal(file.tensors[i].tensor, tensors[i].tensor));
    }
    save_safetensors(dir / "b.safetensors", file.tensors, file.metadata);
    CHECK(read_bytes(dir / "a.safetensors") == read_bytes(dir / "b.safetensors"));
}

TEST_CASE("the file layout is length, space-padded JSON header, then packed float32 data", "[train][safetensors]") {
    test::TempDir dir;
    save_safetensors(dir / "x.safetensors", {{"w", Tensor::from({1.0f, -2.0f}, {2})}}, {{"k", "v"}});
    const std::string bytes = read_bytes(dir / "x.safetensors");
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
    CHECK(n % 8 == 0);
    REQUIRE(bytes.size() == 8 + n + 8);
    const std::string header = bytes.substr(8, n);
    CHECK(header.rfind("{\"__metadata__\":{\"k\":\"v\"},\"w\":{\"data_offsets\":[0,8],\"dtype\":\"F32\",\"shape\":[2]}}", 0) == 0);
    CHECK(header.find_last_not_of(' ') == header.find_last_of('}'));
    float values[2];
    std::memcpy(values, bytes.data() + 8 + n, sizeof(values));
    CHECK(values[0] == 1.0f);
    CHECK(values[1] == -2.0f);
}

TEST_CASE("a file written by Python with F32, F16, BF16 and rank-0 tensors reads correctly", "[train][safetensors]") {
    const SafetensorsFile file = load_safetensors(std::string(BAYUN_TEST_DATA_DIR) + "/tiny.safetensors");
    CHECK(file.metadata == std::map<std::string, std::string>{{"format", "pt"},
                                                               {"written_by", "tools/check_safetensors.py"}});
    REQUIRE(file.tensors.size() == 4);
    // In data order, which is not the order of the names.
    CHECK(file.tensors[0].name == "lm_head.weight");
    CHECK(file.tensors[1].name == "transformer.wte.weight");
    CHECK(file.tensors[2].name == "transformer.ln_f.bias");
    CHECK(file.tensors[3].name == "scale");

    CHECK(file.tensors[0].tensor.shape() == Shape{2, 2});  // BF16
    CHECK(file.tensors[0].tensor.to_vector() == std::vector<float>{1.0f, -3.140625f, 0.0078125f, 256.0f});
    CHECK(file.tensors[1].tensor.shape() == Shape{3, 2});  // F32
    CHECK(file.tensors[1].tensor.to_vector() == std::vector<float>{-1.0f, -0.5f, 0.0f, 0.5f, 1.0f, 1.5f});
    CHECK(file.tensors[2].tensor.shape() == Shape{4});  // F16: the largest half, and the smallest subnormal
    CHECK(file.tensors[2].tensor.to_vector() == std::vector<float>{0.5f, -2.0f, 65504.0f, std::ldexp(1.0f, -24)});
    CHECK(file.tensors[3].tensor.shape() == Shape{});  // rank 0
    CHECK(file.tensors[3].tensor.item() == 42.0f);
}

TEST_CASE("half and bfloat16 bit patterns convert to the right floats", "[train][safetensors]") {
    CHECK(f16_to_float(0x3C00) == 1.0f);
    CHECK(f16_to_float(0xC000) == -2.0f);
    CHECK(f16_to_float(0x7BFF) == 65504.0f);
    CHECK(f16_to_float(0x0400) == std::ldexp(1.0f, -14));  // smallest normal
    CHECK(f16_to_float(0x03FF) == std::ldexp(1023.0f, -24));  // largest subnormal
    CHECK(f16_to_float(0x0001) == std::ldexp(1.0f, -24));
    CHECK(std::signbit(f16_to_float(0x8000)));
    CHECK(f16_to_float(0x7C00) == INFINITY);
    CHECK(f16_to_float(0xFC00) == -INFINITY);
    CHECK(std::isnan(f16_to_float(0x7E00)));
    CHECK(bf16_to_float(0x3F80) == 1.0f);
    CHECK(bf16_to_float(0xC049) == -3.140625f);
    CHECK(std::isnan(bf16_to_float(0x7FC0)));
}

TEST_CASE("a missing file says so", "[train][safetensors][errors]") {
    test::TempDir dir;
    CHECK_THROWS_WITH(load_safetensors(dir / "nope.safetensors"),
                      fmt::format("[checkpoint] cannot read '{}': no such file (check the path or the run directory)",
                                  dir / "nope.safetensors"));
    CHECK_THROWS_WITH(load_safetensors(dir.path().string()),
                      fmt::format("[checkpoint] cannot read '{}': it is a directory, expected a .safetensors file",
                                  dir.path().string()));
}

TEST_CASE("a file shorter than the 8-byte length says it is truncated", "[train][safetensors][errors]") {
    test::TempDir dir;
    const std::string path = dir / "short.safetensors";
    write_bytes(path, "abcde");
    CHECK_THROWS_WITH(load_safetensors(path),
                      fmt::format("[checkpoint] '{}': file is 5 bytes, shorter than the 8-byte header length "
                                  "(truncated file, or not a safetensors file?)", path));
}

TEST_CASE("a header length beyond the end of the file says truncated", "[train][safetensors][errors]") {
    test::TempDir dir;
    const std::string path = dir / "model.safetensors";
    std::string bytes(4096, '\0');
    const uint64_t n = 9'000'000'000'000'000'000ull;
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((n >> (8 * i)) & 0xff);
    write_bytes(path, bytes);
    CHECK_THROWS_WITH(load_safetensors(path),
                      fmt::format("[checkpoint] '{}': header length 9000000000000000000 exceeds file size 4096 "
                                  "(truncated file?)", path));
}

TEST_CASE("a file cut short inside its data says the offsets lie outside the data", "[train][safetensors][errors]") {
    test::TempDir dir;
    const std::string path = dir / "cut.safetensors";
    save_safetensors(path, {{"a", Tensor::ones({4})}, {"b", Tensor::ones({4})}});
    const std::string bytes = read_bytes(path);
    write_bytes(path, bytes.substr(0, bytes.size() - 4));  // the last float is gone
    CHECK_THROWS_WITH(load_safetensors(path),
                      fmt::format("[checkpoint] '{}': tensor 'b' has data_offsets [16, 32] outside the data section "
                                  "of 28 bytes (truncated or corrupt file?)", path));
}

TEST_CASE("every malformed header gives a message naming the problem", "[train][safetensors][errors]") {
    struct Case {
        const char* what;
        std::string header;
        size_t data_bytes;
        std::string message;  // after "[checkpoint] '<path>': "
    };
    auto c = GENERATE(values<Case>({
        {"invalid JSON", "{\"a\": {", 0, "the header is not valid JSON: "},
        {"not an object", "[1, 2]", 0, "the header is array, expected a JSON object (not a safetensors file?)"},
        {"integer dtype", R"({"a": {"dtype": "I64", "shape": [2], "data_offsets": [0, 16]}})", 16,
         "tensor 'a' has dtype I64; bayun reads F32, F16 and BF16 (convert the checkpoint to float32, e.g. "
         "tensor.float() in PyTorch)"},
        {"float64 dtype", R"({"a": {"dtype": "F64", "shape": [2], "data_offsets": [0, 16]}})", 16,
         "tensor 'a' has dtype F64; bayun reads F32, F16 and BF16"},
        {"offsets past the end", R"({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})", 8,
         "tensor 'a' has data_offsets [0, 16] outside the data section of 8 bytes (truncated or corrupt file?)"},
        {"offsets reversed", R"({"a": {"dtype": "F32", "shape": [0], "data_offsets": [8, 4]}})", 8,
         "tensor 'a' has data_offsets [8, 4] outside the data section of 8 bytes"},
        {"offsets not matching the shape", R"({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})", 8,
         "tensor 'a' has shape (3,) of F32 which needs 12 bytes, but data_offsets [0, 8] hold 8 (corrupt file?)"},
        {"overlapping tensors",
         R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
         12, "tensors 'a' [0, 8] and 'b' [4, 12] overlap (corrupt file?)"},
        {"rank 5", R"({"a": {"dtype": "F32", "shape": [1, 1, 1, 1, 2], "data_offsets": [0, 8]}})", 8,
         "tensor 'a' has rank 5 (shape (1, 1, 1, 1, 2)); bayun tensors have rank 0 to 4"},
        {"negative size", R"({"a": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}})", 8,
         "tensor 'a' has shape [-2], expected non-negative integer sizes (corrupt file?)"},
        {"no shape", R"({"a": {"dtype": "F32", "data_offsets": [0, 8]}})", 8, "tensor 'a' has no \"shape\" (corrupt file?)"},
        {"huge shape", R"({"a": {"dtype": "F32", "shape": [4611686018427387904, 8], "data_offsets": [0, 8]}})", 8,
         "tensor 'a' has shape (4611686018427387904, 8) of F32 which needs 18446744073709551615 bytes"},
        {"huge sizes around a zero", R"({"a": {"dtype": "F32", "shape": [4611686018427387904, 4611686018427387904, 0], "data_offsets": [0, 0]}})", 8,
         "tensor 'a' has shape (4611686018427387904, 4611686018427387904, 0) of F32 which needs 18446744073709551615 "
         "bytes, but data_offsets [0, 0] hold 0 (corrupt file?)"},
        {"non-string metadata", R"({"__metadata__": {"step": 5}})", 0,
         "__metadata__ value 'step' is 5, expected a string"},
    }));
    INFO(c.what);
    test::TempDir dir;
    const std::string path = dir / "bad.safetensors";
    write_raw(path, c.header, c.data_bytes);
    CHECK_THROWS_WITH(load_safetensors(path), ContainsSubstring(fmt::format("[checkpoint] '{}': {}", path, c.message)));
}

TEST_CASE("saving rejects duplicate and reserved names, and unwritable places", "[train][safetensors][errors]") {
    test::TempDir dir;
    const std::string path = dir / "x.safetensors";
    CHECK_THROWS_WITH(save_safetensors(path, {{"a", Tensor::ones({1})}, {"a", Tensor::ones({2})}}),
                      fmt::format("[checkpoint] cannot write '{}': tensor name 'a' appears twice (names must be unique)",
                                  path));
    CHECK_THROWS_WITH(save_safetensors(path, {{"__metadata__", Tensor::ones({1})}}),
                      ContainsSubstring("invalid tensor name '__metadata__'"));
    CHECK_FALSE(std::filesystem::exists(path));
    const std::string nowhere = dir / "missing/x.safetensors";
    CHECK_THROWS_WITH(save_safetensors(nowhere, {{"a", Tensor::ones({1})}}),
                      fmt::format("[checkpoint] cannot write '{}': No such file or directory (does the directory "
                                  "'{}' exist?)", nowhere, dir / "missing"));
}

TEST_CASE("load_into copies values by name into the parameters' own storage", "[train][safetensors]") {
    std::vector<NamedTensor> params{{"lm_head.weight", Tensor::zeros({2, 3}, true)},
                                    {"transformer.ln_f.bias", Tensor::zeros({3}, true)}};
    const float* before = params[0].tensor.data();
    SafetensorsFile file;  // the other order, as a file may store them
    file.tensors = {{"transformer.ln_f.bias", Tensor::from({7, 8, 9}, {3})},
                    {"lm_head.weight", Tensor::from({1, 2, 3, 4, 5, 6}, {2, 3})}};
    load_into(file, params, "model.safetensors");
    CHECK(params[0].tensor.to_vector() == std::vector<float>{1, 2, 3, 4, 5, 6});
    CHECK(params[1].tensor.to_vector() == std::vector<float>{7, 8, 9});
    CHECK(params[0].tensor.data() == before);  // copied in, not re-pointed
}

TEST_CASE("load_into lists missing, unexpected and mis-shaped tensors and copies nothing", "[train][safetensors][errors]") {
    std::vector<NamedTensor> params{{"lm_head.weight", Tensor::zeros({65, 384})},
                                    {"transformer.ln_f.weight", Tensor::zeros({384})},
                                    {"transformer.ln_f.bias", Tensor::zeros({384})}};
    SafetensorsFile file;
    file.tensors = {{"lm_head.weight", Tensor::ones({50257, 384})},
                    {"transformer.ln_f.weight", Tensor::ones({384})},
                    {"transformer.wpe.weight", Tensor::ones({256, 384})}};
    CHECK_THROWS_WITH(load_into(file, params, "runs/tale/model.safetensors"),
                      "[checkpoint] 'runs/tale/model.safetensors' does not match the model: 1 missing "
                      "(transformer.ln_f.bias); 1 unexpected (transformer.wpe.weight); 1 with a different shape "
                      "(lm_head.weight expected (65, 384) found (50257, 384)) (was it saved with a different model "
                      "configuration?)");
    CHECK(params[1].tensor.at({0}) == 0.0f);  // untouched, although its name and shape matched
}

TEST_CASE("Python's independent reader agrees with what C++ wrote", "[train][safetensors][interop]") {
    if (std::system("/usr/bin/python3 -c 'import numpy' > /dev/null 2>&1") != 0) {
        WARN("/usr/bin/python3 with numpy not found: interop check skipped");
        return;
    }
    test::TempDir dir;
    const std::string path = dir / "cpp.safetensors";
    const auto tensors = some_tensors();
    save_safetensors(path, tensors, {{"step", "12"}});
    const std::string command =
        fmt::format("/usr/bin/python3 {}/tools/check_safetensors.py read '{}'", BAYUN_SOURCE_DIR, path);
    FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::string output;
    char buffer[4096];
    while (size_t n = std::fread(buffer, 1, sizeof(buffer), pipe)) output.append(buffer, n);
    REQUIRE(::pclose(pipe) == 0);

    const auto json = nlohmann::json::parse(output);
    CHECK(json["metadata"] == nlohmann::json{{"step", "12"}});
    REQUIRE(json["tensors"].size() == tensors.size());
    for (const NamedTensor& t : tensors) {
        INFO(t.name);
        const auto& entry = json["tensors"].at(t.name);
        CHECK(entry["dtype"] == "F32");
        CHECK(entry["shape"].get<Shape>() == t.tensor.shape());
        CHECK(entry["data"].get<std::vector<float>>() == t.tensor.to_vector());
    }
}
