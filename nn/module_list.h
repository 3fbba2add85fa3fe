// A list of submodules registered as "0", "1", ... so their parameters get
// names like "blocks.3.mixer.in_proj.weight", as torch's ModuleList does.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "nn/module.h"

namespace loglin::nn {

template <class M>
class ModuleList : public Module {
 public:
  void push_back(std::shared_ptr<M> m) { items_.push_back(register_module(std::to_string(items_.size()), std::move(m))); }
  size_t size() const { return items_.size(); }
  const std::shared_ptr<M>& operator[](size_t i) const { return items_.at(i); }
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }
  std::string type_name() const override { return "ModuleList"; }

 private:
  std::vector<std::shared_ptr<M>> items_;
};

}  // namespace loglin::nn
