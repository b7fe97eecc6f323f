// Text processing: CRC-32 and FNV hashes over a generated buffer, a word-frequency hash
// table, memmove/memset over overlapping ranges, 16- and 8-bit loads and stores.
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t crc_table[256];

static void crc_init(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
    crc_table[i] = c;
  }
}

static uint32_t crc32(const unsigned char *p, size_t n) {
  uint32_t c = 0xffffffffu;
  while (n--) c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

static uint64_t fnv1a(const char *s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
  return h;
}

struct entry { char word[24]; int count; };

int main(void) {
  static const char *words[] = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"};
  size_t size = 1 << 16;
  char *text = malloc(size + 1);
  size_t len = 0;
  uint32_t s = 7;
  while (len + 16 < size) {
    s ^= s << 13; s ^= s >> 17; s ^= s << 5;
    const char *w = words[s % 8];
    size_t wl = strlen(w);
    memcpy(text + len, w, wl);
    len += wl;
    text[len++] = (s & 0x100) ? '\n' : ' ';
  }
  text[len] = 0;
  crc_init();
  printf("crc %08x len %zu\n", crc32((unsigned char *)text, len), len);
  struct entry table[64];
  memset(table, 0, sizeof table);
  int distinct = 0;
  for (char *tok = strtok(text, " \n"); tok; tok = strtok(NULL, " \n")) {
    uint64_t h = fnv1a(tok);
    for (size_t i = h % 64;; i = (i + 1) % 64) {
      if (table[i].count == 0) { strncpy(table[i].word, tok, 23); table[i].count = 1; distinct++; break; }
      if (strcmp(table[i].word, tok) == 0) { table[i].count++; break; }
    }
  }
  for (int i = 0; i < 64; i++)
    if (table[i].count) printf("%-8s %d %016llx\n", table[i].word, table[i].count, (unsigned long long)fnv1a(table[i].word));
  printf("distinct %d\n", distinct);
  char buf[32] = "0123456789abcdefghijklmnopqrstu";
  memmove(buf + 3, buf, 20);
  memmove(buf, buf + 7, 10);
  for (char *p = buf; *p; p++) *p = (char)toupper((unsigned char)*p);
  puts(buf);
  uint16_t halves[8]; int8_t bytes[8];
  for (int i = 0; i < 8; i++) { halves[i] = (uint16_t)(0xfff0 + i * 3); bytes[i] = (int8_t)(120 + i * 3); }
  long total = 0;
  for (int i = 0; i < 8; i++) total += halves[i] * bytes[i];
  printf("mixed %ld\n", total);
  free(text);
  return 0;
}
