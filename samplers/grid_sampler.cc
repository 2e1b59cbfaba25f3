// Grid sampling: every point of a finite space in a stable order (file order, last
// parameter fastest, nested options expanding in place), skipping points already in the
// history. Points are computed by index (GridIndex), so huge grids cost nothing up front.
#include <memory>
#include <optional>
#include <utility>

#include "core/status.h"
#include "samplers/encoding.h"
#include "samplers/factories.h"
#include "samplers/sampler_util.h"

namespace sweep::samplers {
namespace {

class GridSampler : public Sampler {
 public:
  explicit GridSampler(GridIndex grid) : grid_(std::move(grid)) {}

  absl::StatusOr<std::optional<core::Config>> Next(const History& history) override {
    // The answer is the first grid point not in the history. When the history only grew
    // since the last call, every point before the last answer is still seen, so the scan
    // resumes there; the result is the same as a scan from 0.
    if (!seen_.Update(history)) resume_ = 0;
    for (uint64_t k = resume_; k < grid_.size(); ++k) {
      core::Config c = grid_.At(k);
      if (!seen_.Contains(c)) {
        resume_ = k;
        return c;
      }
    }
    resume_ = grid_.size();
    return std::nullopt;
  }

 private:
  GridIndex grid_;
  SeenKeys seen_;
  uint64_t resume_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Sampler>> MakeGridSampler(const core::SearchSpace& space,
                                                         const SamplerOptions& options) {
  // Encoding validates bounds and names with the same messages as the other samplers.
  RETURN_IF_ERROR(Encoding::Build(space, CategoricalEncoding::kIndex).status());
  ASSIGN_OR_RETURN(GridIndex grid, GridIndex::Build(space));
  return std::make_unique<GridSampler>(std::move(grid));
}

}  // namespace sweep::samplers
