// Sorting, heap allocation, floating-point formatting and string functions from wasi-libc.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int by_value(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int main(int argc, char **argv) {
  int n = 5000;
  int *v = malloc(n * sizeof *v);
  uint32_t s = 12345;
  for (int i = 0; i < n; i++) {
    s = s * 1103515245u + 12345u;
    v[i] = (int)((s >> 8) % 200001) - 100000;
  }
  qsort(v, n, sizeof *v, by_value);
  double mean = 0, sq = 0;
  for (int i = 0; i < n; i++) mean += v[i];
  mean /= n;
  for (int i = 0; i < n; i++) sq += (v[i] - mean) * (v[i] - mean);
  printf("min %d max %d median %d\n", v[0], v[n - 1], v[n / 2]);
  printf("mean %.4f stddev %.4f\n", mean, sqrt(sq / n));
  printf("exp %.6e sin %.6f pow %.3f\n", exp(3.5), sin(1.25), pow(2.0, 0.5));
  const char *names[] = {"wasm", "mlir", "binaryen", "cranelift", "llvm", "egg", "wit"};
  size_t count = sizeof names / sizeof *names;
  qsort(names, count, sizeof *names, by_name);
  char line[256] = "";
  for (size_t i = 0; i < count; i++) {
    strcat(line, names[i]);
    if (i + 1 < count) strcat(line, ",");
  }
  puts(line);
  char buf[64];
  snprintf(buf, sizeof buf, "%s-%x-%08.3f-%lld", "abc", 0xbeef, -3.14159, (long long)INT64_MIN);
  puts(buf);
  printf("strtod %.5f strtol %ld argc %d arg0 %s\n", strtod("2.71828e1", NULL), strtol("-0x7f", NULL, 16),
         argc, argv[0]);
  free(v);
  return 0;
}
