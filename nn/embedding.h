// Embedding: a learned table with one row of C numbers per id. The token embedding (wte) turns each
// token id into a vector; the position embedding (wpe) does the same for positions 0, 1, 2, ...
#pragma once

#include "nn/module.h"

#include <span>

namespace bayun::nn {

class Embedding : public Module {
public:
    Embedding(int64_t num_embeddings, int64_t embedding_dim);
    Tensor forward(std::span<const int32_t> ids, const Shape& ids_shape) const;  // ids_shape -> (ids_shape..., C)

    Tensor weight;  // (num_embeddings, C)
};

}  // namespace bayun::nn
