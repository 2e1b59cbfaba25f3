// Maps configurations of a search space to points of the unit cube [0,1]^d and back.
// Random and Sobol sampling decode uniform points; the GP and TPE model in this space.
//
//   uniform/quniform:         x -> min + x (max - min), then quantized
//   loguniform/qloguniform:   x -> exp(min + x (max - min)) (bounds are exponents)
//   normal/qnormal:           x -> mu + sigma * Phi^-1(x), x clamped to (1e-9, 1-1e-9)
//   lognormal/qlognormal:     exp of the normal mapping
//   randint(upper):           x -> min(floor(x upper), upper - 1); encoded at bin centres
//   choice (kIndex):          one dimension, like randint over the options
//   choice (kOneHot):         one dimension per option; decode takes the argmax
// Nested options add the dimensions of their subspace; when a branch is inactive its
// dimensions are ignored on decode and encoded as 0.5 (kIndex) / the branch's centre.
//
// Thread safety: immutable after Build; const methods are thread-safe.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/search_space.h"

namespace sweep::samplers {

enum class CategoricalEncoding { kIndex, kOneHot };

struct EncodedDim {
  enum class Type { kContinuous, kInteger, kCategoricalIndex, kOneHot };
  Type type = Type::kContinuous;
  std::string param;     // parameter name
  int levels = 0;        // integer/categorical: number of values; 0 for continuous
  int one_hot_group = -1;  // kOneHot: id shared by the dims of one choice
  int one_hot_option = -1; // kOneHot: which option this dim stands for
  // Index into dims() of the choice dimension(s) that activate this one and the option
  // value required; -1 when always active.
  int parent_param_dim = -1;
  int parent_option = -1;
};

class Encoding {
 public:
  // InvalidArgument for an empty space or a parameter that cannot be encoded
  // (e.g. max <= min), naming the parameter.
  static absl::StatusOr<Encoding> Build(const core::SearchSpace& space,
                                        CategoricalEncoding categorical);

  int dims() const { return static_cast<int>(dims_.size()); }
  const std::vector<EncodedDim>& dim_info() const { return dims_; }

  // x has dims() entries in [0,1] (values outside are clamped).
  core::Config Decode(const std::vector<double>& x) const;
  // Inverse of Decode up to quantization; parameters absent from config (inactive)
  // take the neutral value described above. Unknown names are ignored.
  std::vector<double> Encode(const core::Config& config) const;
  // Which dims are active for a config (inactive branches false).
  std::vector<bool> ActiveMask(const core::Config& config) const;

 private:
  core::SearchSpace space_;
  CategoricalEncoding categorical_ = CategoricalEncoding::kIndex;
  std::vector<EncodedDim> dims_;
};

}  // namespace sweep::samplers
