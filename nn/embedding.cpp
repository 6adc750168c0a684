// Embedding table: registers weight (N, C); forward gathers rows.
#include "nn/embedding.h"

#include "autograd/ops.h"

namespace bayun::nn {

Embedding::Embedding(int64_t num_embeddings, int64_t embedding_dim) {
    weight = register_parameter("weight", Tensor::zeros({num_embeddings, embedding_dim}, true));
}

Tensor Embedding::forward(std::span<const int32_t> ids, const Shape& ids_shape) const {
    return embedding(weight, ids, ids_shape);
}

}  // namespace bayun::nn
