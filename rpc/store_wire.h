// store::Store records on the wire (proto/sweep.proto ReadStore): conversions both ways
// and the server side of the rpc; also the admin rpcs' own requests and replies. A gRPC adapter
// file: include it only from the other adapters (grpc_service.cc serves ReadStore, admin_client.cc
// is its RemoteStore client).
//
// Every conversion is exact: doubles keep NaN/inf bits, an absent final value stays
// absent, a config value keeps its ParamValue alternative.
// Thread safety: stateless functions.
#pragma once

#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/types.h"
#include "proto/sweep.pb.h"
#include "store/store.h"
#include "workspace/admin.h"

namespace sweep::rpc {

void ToProto(const core::ComputeTarget& in, proto::ComputeRecord* out);
void ToProto(const core::Sweep& in, proto::SweepRecord* out);
void ToProto(const core::Trial& in, proto::TrialRecord* out);
void ToProto(const core::Attempt& in, proto::AttemptRecord* out);
void ToProto(const core::MetricPoint& in, proto::MetricRecord* out);
void ToProto(const core::Event& in, proto::EventRecord* out);
void ToProto(const core::Decision& in, proto::DecisionRecord* out);
void ToProto(const core::Node& in, proto::NodeRecord* out);
void ToProto(const core::Environment& in, proto::EnvironmentDefinition* out);
void ToProto(const core::Model& in, proto::ModelRecord* out);

// DataLoss for a state name or config value this binary does not know.
core::ComputeTarget FromProto(const proto::ComputeRecord& in);
absl::StatusOr<core::Sweep> FromProto(const proto::SweepRecord& in);
absl::StatusOr<core::Trial> FromProto(const proto::TrialRecord& in);
absl::StatusOr<core::Attempt> FromProto(const proto::AttemptRecord& in);
core::MetricPoint FromProto(const proto::MetricRecord& in);
core::Event FromProto(const proto::EventRecord& in);
core::Decision FromProto(const proto::DecisionRecord& in);
core::Node FromProto(const proto::NodeRecord& in);
core::Environment FromProto(const proto::EnvironmentDefinition& in);
core::Model FromProto(const proto::ModelRecord& in);

// Trailing metadata on an admin rpc's error that the controller itself returned (not the
// transport): its code and message are the user's to see as they are.
inline constexpr char kAdminErrorKey[] = "sweep-error";
inline constexpr char kAdminErrorValue[] = "controller";

// The admin rpcs' requests and replies (workspace/admin.h types).
void ToProto(const workspace::RemoteVmRequest& in, proto::AttachRemoteVmRequest* out);
workspace::RemoteVmRequest FromProto(const proto::AttachRemoteVmRequest& in);
void ToProto(const workspace::AttachedRemoteVm& in, proto::AttachRemoteVmReply* out);
workspace::AttachedRemoteVm FromProto(const proto::AttachRemoteVmReply& in);
void ToProto(const workspace::ModelRequest& in, proto::RegisterModelRequest* out);
workspace::ModelRequest FromProto(const proto::RegisterModelRequest& in);

// Converts each record of `in` and appends it to `out`; the first error of a conversion.
template <typename Record, typename T>
absl::Status AppendFromProto(const google::protobuf::RepeatedPtrField<Record>& in,
                             std::vector<T>* out) {
  for (const Record& r : in) {
    auto converted = FromProto(r);
    if constexpr (std::is_same_v<decltype(converted), T>) {
      out->push_back(std::move(converted));
    } else {
      if (!converted.ok()) return converted.status();
      out->push_back(*std::move(converted));
    }
  }
  return absl::OkStatus();
}

// Answers one ReadStore request from `store`; the store's own status when it fails,
// InvalidArgument for an unknown method or a GET_TRIAL without trial_id.
absl::Status ServeReadStore(store::Store& store, const proto::ReadStoreRequest& request,
                            proto::ReadStoreReply* reply);

}  // namespace sweep::rpc
