// Sobol sampling (`rule: sobol`): trial k gets point k-1 of the Sobol sequence (Boost's
// boost::random::sobol, preceded by the origin that Boost skips: keeping it makes the
// first 2^m trials a balanced net, see Owen 2020, "On dropping the first Sobol' point")
// in as many dimensions as the kIndex Encoding has, scrambled by a random digital shift
// drawn from the seed (XOR of every coordinate's bits; it keeps the sequence's net
// structure, unlike adding a shift modulo 1), then decoded like random sampling.
#include "samplers/sobol_sampler.h"

#include <memory>
#include <optional>
#include <stdexcept>
#include <utility>

#include "absl/strings/str_cat.h"
#include "boost/random/sobol.hpp"
#include "core/status.h"
#include "samplers/encoding.h"
#include "samplers/factories.h"
#include "samplers/sampler_util.h"

namespace sweep::samplers {
namespace {

constexpr uint64_t kShiftStream = 0x736f626c;     // "sobl"
constexpr uint64_t kFallbackStream = 0x736f6266;  // "sobf"

class SobolSampler : public Sampler {
 public:
  SobolSampler(Encoding encoding, std::optional<GridIndex> grid, uint64_t seed)
      : encoding_(std::move(encoding)),
        grid_(std::move(grid)),
        seed_(seed),
        shift_(SobolShift(seed, encoding_.dims())) {}

  absl::StatusOr<std::optional<core::Config>> Next(const History& history) override {
    seen_.Update(history);
    uint64_t trial = history.trials.size() + 1;
    ASSIGN_OR_RETURN(std::vector<double> x, ShiftedSobolPoint(trial - 1, shift_));
    // A finite space can repeat a point's config; then a random unseen one stands in.
    TrialRng rng(seed_, trial, kFallbackStream);
    return DrawUnseen(encoding_, grid_ ? &*grid_ : nullptr, seen_, rng, encoding_.Decode(x));
  }

 private:
  Encoding encoding_;
  std::optional<GridIndex> grid_;
  uint64_t seed_;
  std::vector<uint64_t> shift_;
  SeenKeys seen_;
};

}  // namespace

std::vector<uint64_t> SobolShift(uint64_t seed, int dims) {
  TrialRng rng(seed, 0, kShiftStream);
  std::vector<uint64_t> shift(dims);
  for (uint64_t& s : shift) s = rng.NextU64();
  return shift;
}

absl::StatusOr<std::vector<double>> ShiftedSobolPoint(uint64_t index,
                                                      const std::vector<uint64_t>& shift) {
  size_t dims = shift.size();
  constexpr size_t kMaxDims = boost::random::default_sobol_table::max_dimension;
  if (dims == 0 || dims > kMaxDims) {  // boost would throw; say what is wrong instead
    return absl::InvalidArgumentError(absl::StrCat("sobol sampling supports 1 to ", kMaxDims,
                                                   " encoded dimensions, the search space has ",
                                                   dims));
  }
  std::vector<uint64_t> bits(dims, 0);  // point 0 is the origin
  if (index > 0) {
    try {
      boost::random::sobol engine(dims);
      engine.seed(index - 1);  // boost starts after the origin: its vector i is point i+1
      for (uint64_t& b : bits) b = engine();
    } catch (const std::exception& e) {
      return absl::InternalError(absl::StrCat("sobol point ", index, ": ", e.what()));
    }
  }
  std::vector<double> x(dims);
  for (size_t j = 0; j < dims; ++j) {
    x[j] = static_cast<double>((bits[j] ^ shift[j]) >> 11) * 0x1.0p-53;
  }
  return x;
}

absl::StatusOr<std::unique_ptr<Sampler>> MakeSobolSampler(const core::SearchSpace& space,
                                                          const SamplerOptions& options) {
  ASSIGN_OR_RETURN(Encoding encoding, Encoding::Build(space, CategoricalEncoding::kIndex));
  std::vector<uint64_t> probe(encoding.dims());
  RETURN_IF_ERROR(ShiftedSobolPoint(0, probe).status());
  std::optional<GridIndex> grid;
  if (core::IsFinite(space)) {
    ASSIGN_OR_RETURN(grid, GridIndex::Build(space));
  }
  return std::make_unique<SobolSampler>(std::move(encoding), std::move(grid), options.seed);
}

}  // namespace sweep::samplers
