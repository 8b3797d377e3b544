// Runtime helpers that compiled Loop programs call. Linked into the loopai process for the JIT
// and compiled next to every AOT object (`loopai compile --emit shared`). The semantics are
// exactly the reference interpreter's (Sources/LoopSema/TextSemantics.swift, Sources/LoopInterpreter/TextOps.swift).
#ifndef LOOP_RUNTIME_H
#define LOOP_RUNTIME_H
#include <stdint.h>

#define LOOP_RT_INVALID_BASE 0x110000u

/* The C ABI of compiled programs (see Docs/abi.md): one input field, and one answer. */
#ifndef LOOP_ABI_TYPES
#define LOOP_ABI_TYPES
typedef struct { const uint8_t *ptr; int64_t len; double number; } loop_value;
typedef struct { int32_t label; int32_t decided_by; double confidence; } loop_result;
#endif

/* Name and address of every runtime helper, for the JIT's symbol table. */
typedef struct { const char *name; void *address; } loop_rt_symbol;
const loop_rt_symbol *loop_rt_symbols(int32_t *count);

/* Decodes the unit at byte i (i < len); stores its length in *n. Invalid bytes decode to
   LOOP_RT_INVALID_BASE + byte, length 1. */
uint32_t loop_rt_decode(const uint8_t *p, int64_t len, int64_t i, int64_t *n);
uint32_t loop_rt_lower(uint32_t c);
uint32_t loop_rt_upper(uint32_t c);
int32_t loop_rt_is_word(uint32_t c);
/* Unit class for a non-ASCII unit: bounds[k] is the first unit of interval k (bounds[0] = 0). */
int32_t loop_rt_class(const uint32_t *bounds, const int32_t *classes, int32_t n, uint32_t u);
/* Writes the case-mapped text (same length as the input) to out. upper != 0 maps to uppercase. */
void loop_rt_map_case(const uint8_t *p, int64_t len, int32_t upper, uint8_t *out);
/* ASCII white space trimmed at both ends: returns the new start, stores the new length. */
int64_t loop_rt_trim(const uint8_t *p, int64_t len, int64_t *out_len);
double loop_rt_len(const uint8_t *p, int64_t len);
double loop_rt_word_count(const uint8_t *p, int64_t len);
double loop_rt_upper_ratio(const uint8_t *p, int64_t len);
double loop_rt_digit_ratio(const uint8_t *p, int64_t len);
double loop_rt_punct_ratio(const uint8_t *p, int64_t len);
int32_t loop_rt_equal(const uint8_t *a, int64_t alen, const uint8_t *b, int64_t blen);
void *loop_rt_alloc(int64_t n);
void loop_rt_free(void *p);

/* A deterministic automaton over unit classes, as emitted by the compiler. */
typedef struct {
    int32_t nclasses;
    int32_t nbounds;
    const int32_t *ascii_class;   /* 128 entries */
    const uint32_t *bounds;       /* nbounds interval starts for units >= 128 */
    const int32_t *bound_class;   /* class of each interval */
    const int32_t *word_class;    /* 1 when the class holds word characters */
    const int32_t *trans;         /* state * nclasses + class -> state; state 0 is dead */
    const int32_t *out;           /* state * nclasses + class -> pattern + 1 matched before this unit, or 0 */
    const int32_t *final_out;     /* state -> pattern + 1 matched at the end of the text, or 0 */
    const int32_t *start;         /* [prev_word * 2 + at_start] -> start state */
    const uint8_t *ascii_start;   /* 128 entries: 0 when no match can begin with this ASCII byte (not at the start) */
} loop_rt_dfa;

/* A Thompson NFA over unit classes, for pattern groups whose DFA would be too large.
   kind: 0 unit (arg = set, next), 1 split (targets[next .. next + arg)), 2 assertion (arg = code, next), 3 match (arg = bit). */
typedef struct {
    int32_t nclasses;
    int32_t nbounds;
    const int32_t *ascii_class;
    const uint32_t *bounds;
    const int32_t *bound_class;
    const int32_t *word_class;
    int32_t nstates;
    const int32_t *kind;
    const int32_t *arg;
    const int32_t *next;
    const int32_t *targets;
    const uint8_t *member;        /* set * nclasses + class */
    int32_t nstarts;
    const int32_t *starts;
    /* 1 for classes that some pattern can begin with; start_may_match: a pattern can match empty. */
    const uint8_t *start_class;
    int32_t start_may_match;
} loop_rt_nfa;

/* Unanchored search for every pattern at once; returns the mask of patterns that match. Time is
   linear in the text (times the automaton's size). */
uint64_t loop_rt_nfa_scan(const loop_rt_nfa *nfa, const uint8_t *p, int64_t len);

/* Counts non-overlapping leftmost-longest matches of an anchored automaton, scanning unit starts
   left to right. With weights, returns the sum of weights[pattern] of the matches instead. */
double loop_rt_count(const loop_rt_dfa *dfa, const uint8_t *p, int64_t len, const double *weights);

/* sum_words_negated: the weighted matches of `table` in text order, each weight flipped when the
   latest match of `negators` that ends at or before it is in the same clause (no . , ; : ! ?
   between) with fewer than `scope` words between them. */
double loop_rt_count_negated(const loop_rt_dfa *table, const loop_rt_dfa *negators, const uint8_t *p, int64_t len,
                             const double *weights, double scope);
#endif
