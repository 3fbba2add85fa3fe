// Optimizers over named parameters, in parameter groups that differ in
// weight decay. Updates run in place on the parameters' data (f32 master
// weights) with no graph recorded. Optimizer state lives on each parameter's
// device; parameters on CUDA are updated by one fused kernel launch per step
// (train/optim/optimizer_cuda.h), CPU parameters by a loop.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace loglin::optim {

using NamedParams = std::vector<std::pair<std::string, Tensor>>;

struct ParamGroup {
  NamedParams params;
  double weight_decay = 0;
};

// The usual split for language models: weight decay only on matrices of
// linear layers. No decay on 1-D tensors (norm weights, biases, D, dt_bias,
// A_log), on SSM parameters named A_log / dt_bias / D / Lambda whatever their
// rank, and on embeddings unless decay_embeddings.
std::vector<ParamGroup> decay_groups(const NamedParams& params, double weight_decay, bool decay_embeddings);

class Optimizer {
 public:
  explicit Optimizer(std::vector<ParamGroup> groups);
  virtual ~Optimizer();
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;
  // One update with learning rate lr; parameters without a gradient are skipped.
  virtual void step(double lr) = 0;
  void zero_grad();
  int64_t steps_taken() const { return step_; }
  // Optimizer state by "<param name>.<slot>" plus "step", for checkpoints.
  // The tensors are the live state on the parameters' devices (the
  // checkpoint writer copies CUDA tensors to the CPU); loading copies values
  // in, from any device.
  virtual std::map<std::string, Tensor> state_dict() const = 0;
  virtual void load_state_dict(const std::map<std::string, Tensor>& state) = 0;
  // The per-parameter state entries, as in state_dict()'s "<name>.<slot>";
  // each has its parameter's shape, in f32.
  virtual std::vector<std::string> state_slots() const = 0;
  const std::vector<ParamGroup>& groups() const { return groups_; }

 protected:
  // The uploaded chunk table of the fused CUDA step (empty in CPU-only builds).
  struct CudaState;
  CudaState& cuda_state();

  std::vector<ParamGroup> groups_;
  int64_t step_ = 0;

 private:
  std::unique_ptr<CudaState> cuda_;
};

struct AdamWOptions {
  double beta1 = 0.9, beta2 = 0.95, eps = 1e-8;
};

class AdamW : public Optimizer {
 public:
  AdamW(std::vector<ParamGroup> groups, AdamWOptions options = {});
  void step(double lr) override;
  std::map<std::string, Tensor> state_dict() const override;
  void load_state_dict(const std::map<std::string, Tensor>& state) override;
  std::vector<std::string> state_slots() const override { return {"exp_avg", "exp_avg_sq"}; }

 private:
  AdamWOptions opt_;
  std::map<std::string, Tensor> m_, v_;  // by parameter name
};

class SGD : public Optimizer {
 public:
  SGD(std::vector<ParamGroup> groups, double momentum = 0.9);
  void step(double lr) override;
  std::map<std::string, Tensor> state_dict() const override;
  void load_state_dict(const std::map<std::string, Tensor>& state) override;
  std::vector<std::string> state_slots() const override { return {"momentum"}; }

 private:
  double momentum_;
  std::map<std::string, Tensor> buf_;
};

// Scales every gradient so their global L2 norm is at most max_norm (when
// max_norm > 0) and returns the norm before scaling. A non-finite norm is
// returned as is and nothing is scaled: the caller skips that step. For
// gradients on CUDA the sum of squares is reduced on the device and only the
// 8-byte total is read back; the scaling is one more launch.
double clip_grad_norm(const std::vector<Tensor>& params, double max_norm);

}  // namespace loglin::optim
