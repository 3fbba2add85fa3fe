#include "core/shape.h"

#include "core/error.h"

namespace loglin {

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

Shape contiguous_strides(const Shape& s) {
  Shape st(s.size());
  int64_t acc = 1;
  for (size_t i = s.size(); i-- > 0;) {
    st[i] = acc;
    acc *= (s[i] > 0 ? s[i] : 1);
  }
  return st;
}

std::string shape_str(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(s[i]);
  }
  return out + "]";
}

int64_t normalize_dim(int64_t dim, int64_t ndim, const char* op) {
  int64_t d = dim < 0 ? dim + ndim : dim;
  LOGLIN_CHECK(d >= 0 && d < ndim, "[{}] dim {} out of range for a tensor with {} dims", op, dim, ndim);
  return d;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    LOGLIN_CHECK(da == db || da == 1 || db == 1, "[{}] shapes {} and {} cannot broadcast (dim {}: {} vs {})", op,
                 shape_str(a), shape_str(b), i, da, db);
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Shape broadcast_strides(const Shape& from_shape, const Shape& from_strides, const Shape& to) {
  LOGLIN_CHECK(to.size() >= from_shape.size() && from_strides.size() == from_shape.size(),
               "[broadcast] cannot read shape {} (strides {}) as shape {}", shape_str(from_shape),
               shape_str(from_strides), shape_str(to));
  Shape st(to.size(), 0);
  size_t off = to.size() - from_shape.size();
  for (size_t i = 0; i < from_shape.size(); ++i)
    st[off + i] = (from_shape[i] == 1 && to[off + i] != 1) ? 0 : from_strides[i];
  return st;
}

}  // namespace loglin
