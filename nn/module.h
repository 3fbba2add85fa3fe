// Module: the base of every layer and model, with libtorch's names.
//
//   struct Mlp : nn::Module {
//     std::shared_ptr<nn::Linear> fc;
//     Mlp() { fc = register_module("fc", std::make_shared<nn::Linear>(nn::LinearOptions(4, 4))); }
//   };
//
// Parameters are Tensors registered by name; a module's members and the
// registry hold handles to the same tensor, so to()/load_state_dict() that
// change a parameter in place are seen through both.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace loglin::nn {

class Module {
 public:
  virtual ~Module() = default;

  // Registers a trainable tensor (requires_grad on unless told otherwise).
  Tensor register_parameter(const std::string& name, Tensor t, bool requires_grad = true);
  // Registers a tensor that is saved in the state dict but not trained.
  Tensor register_buffer(const std::string& name, Tensor t);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    add_child(name, m);
    return m;
  }

  // Dotted names, depth-first in registration order ("blocks.0.mixer.in_proj.weight").
  std::vector<std::pair<std::string, Tensor>> named_parameters(bool recurse = true) const;
  std::vector<Tensor> parameters(bool recurse = true) const;
  std::vector<std::pair<std::string, Tensor>> named_buffers(bool recurse = true) const;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const { return children_; }
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_modules(const std::string& prefix = "");

  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  // Moves/casts every parameter and buffer in place. Floating tensors take
  // `dtype`; integer buffers keep theirs.
  void to(Device device);
  void to(DType dtype);
  void zero_grad();

  // Parameters and buffers by dotted name.
  std::map<std::string, Tensor> state_dict() const;
  // Copies values in. strict: every name must match both ways. Shapes must
  // always match; errors name the key and both shapes.
  void load_state_dict(const std::map<std::string, Tensor>& state, bool strict = true);

  int64_t num_parameters() const;
  // A table: name, shape, count; then the total.
  std::string summary() const;

  // A short type name for summaries ("Linear").
  virtual std::string type_name() const { return "Module"; }

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> m);
  void check_new_name(const std::string& name) const;

  std::vector<std::pair<std::string, Tensor>> params_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

}  // namespace loglin::nn
