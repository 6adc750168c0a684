// The safetensors checkpoint format (https://github.com/huggingface/safetensors), read and written by hand so
// a learner can see every byte. A file is:
//   8 bytes      N, the header length, a little-endian unsigned 64-bit integer
//   N bytes      a JSON header, padded with spaces to a multiple of 8:
//                  {"__metadata__": {"step": "5000", ...},
//                   "lm_head.weight": {"dtype": "F32", "shape": [65, 384], "data_offsets": [0, 99840]}, ...}
//   the rest     the raw values of every tensor, row-major, at [begin, end) counted from the end of the header
// bayun writes F32; it reads F32, and converts F16 and BF16 (half-precision nanoGPT / Hugging Face checkpoints)
// to float. Every malformed file is a bayun::Error naming the file and what is wrong, never a crash.
#pragma once

#include "train/params.h"

#include <map>
#include <string>
#include <vector>

namespace bayun {

struct SafetensorsFile {
    std::vector<NamedTensor> tensors;                 // in file order (by data offset)
    std::map<std::string, std::string> metadata;      // the "__metadata__" object; empty when absent
};

// Writes the tensors (in list order) and metadata atomically (see atomic_file.h). Names must be unique and
// non-empty; "__metadata__" is reserved.
void save_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// Reads and validates a whole file. The tensors own fresh storage and need no grad.
SafetensorsFile load_safetensors(const std::string& path);

// Copies the file's tensors into `params` by name (e.g. into a model's named_parameters()). Checks
// everything first and copies nothing on a mismatch: one error lists the missing names, the unexpected
// names and the shape mismatches (expected vs found). `path` is only for the message.
void load_into(const SafetensorsFile& file, const std::vector<NamedTensor>& params, const std::string& path);

// The dtype conversions used by the reader, exposed for tests: IEEE half and bfloat16 bits to float.
float f16_to_float(uint16_t bits);
float bf16_to_float(uint16_t bits);

}  // namespace bayun
