// C++ through libc++: vectors, maps, strings, virtual calls, lambdas, templates.
#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

struct Shape {
  virtual ~Shape() = default;
  virtual double area() const = 0;
  virtual std::string name() const = 0;
};
struct Rect : Shape {
  double w, h;
  Rect(double w, double h) : w(w), h(h) {}
  double area() const override { return w * h; }
  std::string name() const override { return "rect"; }
};
struct Circle : Shape {
  double r;
  explicit Circle(double r) : r(r) {}
  double area() const override { return 3.14159265358979 * r * r; }
  std::string name() const override { return "circle"; }
};

template <typename T> T checksum(const std::vector<T> &v) {
  return std::accumulate(v.begin(), v.end(), T{}, [](T a, T b) { return a * 31 + b; });
}

int main() {
  std::vector<std::unique_ptr<Shape>> shapes;
  for (int i = 1; i <= 20; i++) {
    if (i % 3) shapes.push_back(std::make_unique<Rect>(i, i + 0.5));
    else shapes.push_back(std::make_unique<Circle>(i / 2.0));
  }
  std::sort(shapes.begin(), shapes.end(), [](auto &a, auto &b) { return a->area() < b->area(); });
  std::map<std::string, double> by_kind;
  for (auto &s : shapes) by_kind[s->name()] += s->area();
  for (auto &[k, v] : by_kind) std::printf("%s %.3f\n", k.c_str(), v);
  std::vector<unsigned> primes;
  for (unsigned n = 2; primes.size() < 500; n++)
    if (std::none_of(primes.begin(), primes.end(), [n](unsigned p) { return p * p <= n && n % p == 0; }))
      primes.push_back(n);
  std::printf("primes %u last %u checksum %u\n", unsigned(primes.size()), primes.back(), checksum(primes));
  std::string text;
  for (int i = 0; i < 50; i++) text += std::to_string(i * i) + (i % 7 ? "," : ";");
  auto semis = std::count(text.begin(), text.end(), ';');
  std::reverse(text.begin(), text.end());
  std::printf("len %zu semis %ld head %.20s\n", text.size(), long(semis), text.c_str());
  return 0;
}
