// Parameter lists for the optimisers and checkpoints: std::vector<NamedTensor>, as nn::Module's
// named_parameters() produces them. NamedTensor itself lives in autograd/tensor.h so nn/ can use it too.
#pragma once

#include "autograd/tensor.h"

#include <vector>

namespace bayun {

using NamedTensors = std::vector<NamedTensor>;

}  // namespace bayun
