// A bytecode interpreter: a dense switch (br_table), function pointers (call_indirect),
// recursion, 64-bit arithmetic and an exit status from main.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum { PUSH, ADD, SUB, MUL, DIV, MOD, DUP, SWAP, JZ, JMP, CALL, RET, PRINT, HALT, NATIVE, OVER, DROP, LT, ROT };

typedef int64_t (*native_fn)(int64_t);
static int64_t square(int64_t x) { return x * x; }
static int64_t negate(int64_t x) { return -x; }
static int64_t popcount(int64_t x) { return __builtin_popcountll((uint64_t)x); }
static int64_t rotate(int64_t x) { return (int64_t)(((uint64_t)x << 13) | ((uint64_t)x >> 51)); }
static native_fn natives[] = {square, negate, popcount, rotate};

static int64_t run(const int64_t *code, int64_t *stack) {
  int sp = 0, pc = 0, rsp = 0;
  int ret[64];
  for (;;) {
    int64_t op = code[pc++];
    switch (op) {
    case PUSH: stack[sp++] = code[pc++]; break;
    case ADD: sp--; stack[sp - 1] += stack[sp]; break;
    case SUB: sp--; stack[sp - 1] -= stack[sp]; break;
    case MUL: sp--; stack[sp - 1] *= stack[sp]; break;
    case DIV: sp--; stack[sp - 1] /= stack[sp]; break;
    case MOD: sp--; stack[sp - 1] %= stack[sp]; break;
    case DUP: stack[sp] = stack[sp - 1]; sp++; break;
    case OVER: stack[sp] = stack[sp - 2]; sp++; break;
    case DROP: sp--; break;
    case ROT: { int64_t a = stack[sp - 3]; stack[sp - 3] = stack[sp - 2]; stack[sp - 2] = stack[sp - 1]; stack[sp - 1] = a; break; }
    case SWAP: { int64_t t = stack[sp - 1]; stack[sp - 1] = stack[sp - 2]; stack[sp - 2] = t; break; }
    case LT: sp--; stack[sp - 1] = stack[sp - 1] < stack[sp]; break;
    case JZ: { int64_t target = code[pc++]; if (stack[--sp] == 0) pc = (int)target; break; }
    case JMP: pc = (int)code[pc]; break;
    case CALL: ret[rsp++] = pc + 1; pc = (int)code[pc]; break;
    case RET: pc = ret[--rsp]; break;
    case PRINT: printf("%lld\n", (long long)stack[--sp]); break;
    case NATIVE: stack[sp - 1] = natives[code[pc++] & 3](stack[sp - 1]); break;
    case HALT: return sp > 0 ? stack[sp - 1] : 0;
    default: fprintf(stderr, "bad opcode %lld\n", (long long)op); exit(2);
    }
  }
}

static uint64_t fib(int n) { return n < 2 ? (uint64_t)n : fib(n - 1) + fib(n - 2); }

static uint64_t collatz_steps(uint64_t n) {
  uint64_t steps = 0;
  while (n != 1) {
    n = (n & 1) ? 3 * n + 1 : n / 2;
    steps++;
  }
  return steps;
}

int main(void) {
  // sum = 0; for (i = 0; i < 100; i++) sum += i * i (through a subroutine); print sum;
  // then the natives; the result is sum % 97.
  const int64_t code[] = {
      PUSH, 0,                  // 0: sum
      PUSH, 0,                  // 2: sum i
      DUP, PUSH, 100, LT,       // 4: sum i (i<100)
      JZ, 22,                   // 8
      DUP, DUP, MUL,            // 10: sum i i*i
      CALL, 30,                 // 13: sum+i*i i
      PUSH, 1, ADD,             // 15: sum i+1
      JMP, 4,                   // 18
      HALT, HALT,               // 20
      DROP, DUP, PRINT,         // 22: sum
      JMP, 40,                  // 25
      HALT, HALT, HALT,         // 27
      ROT, ADD, SWAP, RET,      // 30: (sum i sq) -> (sum+sq i)
      HALT, HALT, HALT, HALT, HALT, HALT, // 34
      PUSH, 12345, NATIVE, 0, PRINT, // 40
      PUSH, 77, NATIVE, 1, PRINT,
      PUSH, -1, NATIVE, 2, PRINT,
      PUSH, 0x0123456789abcdefLL, NATIVE, 3, PRINT,
      DUP, DROP, PUSH, 97, MOD, HALT};
  int64_t *stack = calloc(256, sizeof *stack);
  int64_t last = run(code, stack);
  printf("last %lld\n", (long long)last);
  printf("fib(27) %llu\n", (unsigned long long)fib(27));
  uint64_t best = 0, arg = 0;
  for (uint64_t n = 1; n < 30000; n++) {
    uint64_t s = collatz_steps(n);
    if (s > best) best = s, arg = n;
  }
  printf("collatz %llu at %llu\n", (unsigned long long)best, (unsigned long long)arg);
  free(stack);
  return (int)(last % 7) + 3;
}
