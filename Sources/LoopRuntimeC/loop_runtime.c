#include "loop_runtime.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

uint32_t loop_rt_decode(const uint8_t *b, int64_t n, int64_t i, int64_t *len) {
    uint8_t c0 = b[i];
    if (c0 < 0x80) { *len = 1; return c0; }
#define CONT(k) (i + (k) < n && (b[i + (k)] & 0xC0) == 0x80)
    if (c0 >= 0xC2 && c0 <= 0xDF && CONT(1)) { *len = 2; return ((uint32_t)(c0 & 0x1F) << 6) | (b[i + 1] & 0x3F); }
    if (c0 >= 0xE0 && c0 <= 0xEF && CONT(1) && CONT(2)) {
        uint32_t v = ((uint32_t)(c0 & 0x0F) << 12) | ((uint32_t)(b[i + 1] & 0x3F) << 6) | (b[i + 2] & 0x3F);
        if (v >= 0x800 && !(v >= 0xD800 && v <= 0xDFFF)) { *len = 3; return v; }
    }
    if (c0 >= 0xF0 && c0 <= 0xF4 && CONT(1) && CONT(2) && CONT(3)) {
        uint32_t v = ((uint32_t)(c0 & 0x07) << 18) | ((uint32_t)(b[i + 1] & 0x3F) << 12) | ((uint32_t)(b[i + 2] & 0x3F) << 6) | (b[i + 3] & 0x3F);
        if (v >= 0x10000 && v <= 0x10FFFF) { *len = 4; return v; }
    }
#undef CONT
    *len = 1;
    return LOOP_RT_INVALID_BASE + c0;
}

uint32_t loop_rt_lower(uint32_t c) {
    if (c < 0x80) return (c >= 0x41 && c <= 0x5A) ? c + 0x20 : c;
    if (c < 0xC0) return c;
    if (c <= 0xDE) return c == 0xD7 ? c : c + 0x20;
    if (c >= 0x100 && c <= 0x17F) {
        if ((c >= 0x100 && c <= 0x12F) || (c >= 0x132 && c <= 0x137) || (c >= 0x14A && c <= 0x177)) return (c & 1) == 0 ? c + 1 : c;
        if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) return (c & 1) == 1 ? c + 1 : c;
        if (c == 0x178) return 0xFF;
        return c;
    }
    if (c >= 0x391 && c <= 0x3A9) return c == 0x3A2 ? c : c + 0x20;
    if (c >= 0x410 && c <= 0x42F) return c + 0x20;
    if (c >= 0x400 && c <= 0x40F) return c + 0x50;
    return c;
}

uint32_t loop_rt_upper(uint32_t c) {
    if (c < 0x80) return (c >= 0x61 && c <= 0x7A) ? c - 0x20 : c;
    if (c < 0xE0) return c;
    if (c <= 0xFE) return c == 0xF7 ? c : c - 0x20;
    if (c == 0xFF) return 0x178;
    if (c >= 0x100 && c <= 0x17F) {
        if ((c >= 0x100 && c <= 0x12F) || (c >= 0x132 && c <= 0x137) || (c >= 0x14A && c <= 0x177)) return (c & 1) == 1 ? c - 1 : c;
        if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) return (c & 1) == 0 ? c - 1 : c;
        return c;
    }
    if (c >= 0x3B1 && c <= 0x3C9) return c == 0x3C2 ? 0x3A3 : c - 0x20;
    if (c >= 0x430 && c <= 0x44F) return c - 0x20;
    if (c >= 0x450 && c <= 0x45F) return c - 0x50;
    return c;
}

int32_t loop_rt_is_word(uint32_t c) {
    if (c < 0x80) return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F;
    if (c < 0xC0) return 0;
    if (c <= 0x24F) return c != 0xD7 && c != 0xF7;
    if (c >= 0x370 && c <= 0x52F) return c != 0x37E && c != 0x387;
    if (c >= 0x590 && c <= 0x6FF) return 1;
    if (c >= 0x900 && c <= 0xE7F) return 1;
    if (c >= 0x1E00 && c <= 0x1FFF) return 1;
    if (c >= 0x3040 && c <= 0x30FF) return 1;
    if (c >= 0x3400 && c <= 0x9FFF) return 1;
    if (c >= 0xAC00 && c <= 0xD7AF) return 1;
    return 0;
}

int32_t loop_rt_class(const uint32_t *bounds, const int32_t *classes, int32_t n, uint32_t u) {
    int32_t lo = 0, hi = n - 1;
    while (lo < hi) {
        int32_t mid = (lo + hi + 1) / 2;
        if (bounds[mid] <= u) lo = mid; else hi = mid - 1;
    }
    return classes[lo];
}

static void encode(uint32_t u, uint8_t *out, int64_t *k) {
    if (u >= LOOP_RT_INVALID_BASE) { out[(*k)++] = (uint8_t)(u - LOOP_RT_INVALID_BASE); return; }
    if (u < 0x80) out[(*k)++] = (uint8_t)u;
    else if (u < 0x800) { out[(*k)++] = (uint8_t)(0xC0 | (u >> 6)); out[(*k)++] = (uint8_t)(0x80 | (u & 0x3F)); }
    else if (u < 0x10000) { out[(*k)++] = (uint8_t)(0xE0 | (u >> 12)); out[(*k)++] = (uint8_t)(0x80 | ((u >> 6) & 0x3F)); out[(*k)++] = (uint8_t)(0x80 | (u & 0x3F)); }
    else { out[(*k)++] = (uint8_t)(0xF0 | (u >> 18)); out[(*k)++] = (uint8_t)(0x80 | ((u >> 12) & 0x3F)); out[(*k)++] = (uint8_t)(0x80 | ((u >> 6) & 0x3F)); out[(*k)++] = (uint8_t)(0x80 | (u & 0x3F)); }
}

void loop_rt_map_case(const uint8_t *p, int64_t len, int32_t upper, uint8_t *out) {
    int64_t i = 0, k = 0;
    while (i < len) {
        uint8_t c = p[i];
        if (c < 0x80) { out[k++] = (uint8_t)(upper ? loop_rt_upper(c) : loop_rt_lower(c)); i++; continue; }
        int64_t n;
        uint32_t u = loop_rt_decode(p, len, i, &n);
        if (u < LOOP_RT_INVALID_BASE) u = upper ? loop_rt_upper(u) : loop_rt_lower(u);
        encode(u, out, &k);
        i += n;
    }
}

static int is_space(uint32_t c) { return c == 0x20 || (c >= 0x09 && c <= 0x0D); }

int64_t loop_rt_trim(const uint8_t *p, int64_t len, int64_t *out_len) {
    int64_t s = 0, e = len;
    while (s < e && is_space(p[s])) s++;
    while (e > s && is_space(p[e - 1])) e--;
    *out_len = e - s;
    return s;
}

/* True when every byte is ASCII (checked eight bytes at a time). */
static int all_ascii(const uint8_t *p, int64_t len) {
    int64_t i = 0;
    uint64_t acc = 0;
    for (; i + 8 <= len; i += 8) { uint64_t w; memcpy(&w, p + i, 8); acc |= w; }
    for (; i < len; i++) acc |= p[i];
    return (acc & 0x8080808080808080ULL) == 0;
}

double loop_rt_len(const uint8_t *p, int64_t len) {
    if (all_ascii(p, len)) return (double)len;
    int64_t i = 0, n = 0, k;
    while (i < len) { if (p[i] < 0x80) { i++; n++; continue; } loop_rt_decode(p, len, i, &k); i += k; n++; }
    return (double)n;
}

double loop_rt_word_count(const uint8_t *p, int64_t len) {
    int64_t i = 0, n = 0, k;
    int in_word = 0;
    while (i < len) {
        uint32_t u = p[i] < 0x80 ? (k = 1, p[i]) : loop_rt_decode(p, len, i, &k);
        int w = loop_rt_is_word(u);
        if (w && !in_word) n++;
        in_word = w;
        i += k;
    }
    return (double)n;
}

static int is_digit(uint32_t c) { return c >= 0x30 && c <= 0x39; }
static int is_punct(uint32_t c) { return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E); }

/* Bit 0: an ASCII uppercase letter; bit 1: an ASCII letter (cased). */
static const uint8_t ascii_case[128] = {
    ['A'] = 3, ['B'] = 3, ['C'] = 3, ['D'] = 3, ['E'] = 3, ['F'] = 3, ['G'] = 3, ['H'] = 3, ['I'] = 3,
    ['J'] = 3, ['K'] = 3, ['L'] = 3, ['M'] = 3, ['N'] = 3, ['O'] = 3, ['P'] = 3, ['Q'] = 3, ['R'] = 3,
    ['S'] = 3, ['T'] = 3, ['U'] = 3, ['V'] = 3, ['W'] = 3, ['X'] = 3, ['Y'] = 3, ['Z'] = 3,
    ['a'] = 2, ['b'] = 2, ['c'] = 2, ['d'] = 2, ['e'] = 2, ['f'] = 2, ['g'] = 2, ['h'] = 2, ['i'] = 2,
    ['j'] = 2, ['k'] = 2, ['l'] = 2, ['m'] = 2, ['n'] = 2, ['o'] = 2, ['p'] = 2, ['q'] = 2, ['r'] = 2,
    ['s'] = 2, ['t'] = 2, ['u'] = 2, ['v'] = 2, ['w'] = 2, ['x'] = 2, ['y'] = 2, ['z'] = 2,
};

/* The bytes of an ASCII word w (every high bit clear) that lie in [lo, hi], as 0x80 in each such
   byte: x + (0x80 - lo) sets a byte's high bit when x >= lo, x + (0x80 - hi - 1) when x > hi, and
   no byte carries into the next since x < 0x80. */
static inline uint64_t ascii_in_range(uint64_t w, uint8_t lo, uint8_t hi) {
    const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
    return (w + ones * (uint64_t)(0x80 - lo)) & ~(w + ones * (uint64_t)(0x80 - hi - 1)) & high;
}

/* How many bytes of a 0x80-per-byte mask are set. */
static inline int64_t mask_bytes(uint64_t m) { return (int64_t)(((m >> 7) * 0x0101010101010101ULL) >> 56); }

double loop_rt_upper_ratio(const uint8_t *p, int64_t len) {
    int64_t i = 0, upper = 0, cased = 0, k;
    while (i < len) {
        /* Eight ASCII bytes at a time: the same counts as the byte loop below. */
        while (i + 8 <= len) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            if (w & 0x8080808080808080ULL) break;
            uint64_t up = ascii_in_range(w, 'A', 'Z'), low = ascii_in_range(w, 'a', 'z');
            upper += mask_bytes(up);
            cased += mask_bytes(up | low);
            i += 8;
        }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        /* The last 1-7 bytes of a text of at least 8: the text's last eight bytes, those already
           counted shifted out (zero bytes are no letters), instead of one byte at a time. */
        if (i < len && i + 8 > len && len >= 8) {
            uint64_t w;
            memcpy(&w, p + len - 8, 8);
            if (!(w & 0x8080808080808080ULL)) {
                w >>= 8 * (8 - (len - i));
                uint64_t up = ascii_in_range(w, 'A', 'Z'), low = ascii_in_range(w, 'a', 'z');
                upper += mask_bytes(up);
                cased += mask_bytes(up | low);
                break;
            }
        }
#endif
        if (i >= len) break;
        uint8_t c = p[i];
        if (c < 0x80) {
            uint8_t t = ascii_case[c];
            upper += t & 1;
            cased += t >> 1;
            i++;
            continue;
        }
        uint32_t u = loop_rt_decode(p, len, i, &k);
        uint32_t l = loop_rt_lower(u);
        if (l != u) upper++;
        if (l != u || loop_rt_upper(u) != u) cased++;
        i += k;
    }
    return cased == 0 ? 0.0 : (double)upper / (double)cased;
}

double loop_rt_digit_ratio(const uint8_t *p, int64_t len) {
    int64_t i = 0, a = 0, b = 0, k;
    while (i < len) { uint32_t u = p[i] < 0x80 ? (k = 1, p[i]) : loop_rt_decode(p, len, i, &k); if (is_digit(u)) a++; b++; i += k; }
    return b == 0 ? 0.0 : (double)a / (double)b;
}

double loop_rt_punct_ratio(const uint8_t *p, int64_t len) {
    int64_t i = 0, a = 0, b = 0, k;
    while (i < len) { uint32_t u = p[i] < 0x80 ? (k = 1, p[i]) : loop_rt_decode(p, len, i, &k); if (is_punct(u)) a++; b++; i += k; }
    return b == 0 ? 0.0 : (double)a / (double)b;
}

int32_t loop_rt_equal(const uint8_t *a, int64_t alen, const uint8_t *b, int64_t blen) {
    return alen == blen && (alen == 0 || memcmp(a, b, (size_t)alen) == 0);
}

void *loop_rt_alloc(int64_t n) { return malloc(n > 0 ? (size_t)n : 1); }
void loop_rt_free(void *p) { free(p); }

static inline int32_t unit_class_of(const int32_t *ascii_class, const uint32_t *bounds, const int32_t *bound_class, int32_t nbounds,
                                    const uint8_t *p, int64_t len, int64_t i, int64_t *n) {
    uint8_t b = p[i];
    if (b < 0x80) { *n = 1; return ascii_class[b]; }
    uint32_t u = loop_rt_decode(p, len, i, n);
    return loop_rt_class(bounds, bound_class, nbounds, u);
}

static inline int32_t unit_class(const loop_rt_dfa *d, const uint8_t *p, int64_t len, int64_t i, int64_t *n) {
    uint8_t b = p[i];
    if (b < 0x80) { *n = 1; return d->ascii_class[b]; }
    uint32_t u = loop_rt_decode(p, len, i, n);
    return loop_rt_class(d->bounds, d->bound_class, d->nbounds, u);
}

/* The next non-overlapping leftmost-longest match of an anchored automaton at or after *pos
   (unit starts, left to right); 0 when there is none. *pos and *prev_word carry the scan on. */
static int dfa_next(const loop_rt_dfa *d, const uint8_t *p, int64_t len, int64_t *pos_io, int32_t *prev_word_io,
                    int64_t *m_start, int64_t *m_end, int32_t *m_pat) {
    int64_t pos = *pos_io;
    int32_t prev_word = *prev_word_io;
    while (pos < len) {
        if (pos > 0 && p[pos] < 0x80 && !d->ascii_start[p[pos]]) {
            /* Skip the run of ASCII bytes that cannot begin a match. */
            do { pos++; } while (pos < len && p[pos] < 0x80 && !d->ascii_start[p[pos]]);
            prev_word = d->word_class[d->ascii_class[p[pos - 1]]];
            continue;
        }
        /* Longest anchored match starting at pos. */
        int32_t s = d->start[prev_word * 2 + (pos == 0)];
        if (p[pos] < 0x80) {
            /* Fast reject: no pattern can begin with this unit here. */
            int32_t c = d->ascii_class[p[pos]];
            int32_t idx = s * d->nclasses + c;
            if (d->trans[idx] == 0 && d->out[idx] == 0) { prev_word = d->word_class[c]; pos += 1; continue; }
        }
        int64_t i = pos, best_end = -1, n = 1, first_len = 0;
        int32_t best_pat = 0, pw = prev_word, best_pw = 0, first_word = 0;
        while (s != 0) {
            if (i >= len) {
                int32_t o = d->final_out[s];
                if (o && i > pos) { best_end = i; best_pat = o; best_pw = pw; }
                break;
            }
            int32_t c = unit_class(d, p, len, i, &n);
            int32_t w = d->word_class[c];
            if (i == pos) { first_len = n; first_word = w; }
            int32_t idx = s * d->nclasses + c;
            int32_t o = d->out[idx];
            if (o && i > pos) { best_end = i; best_pat = o; best_pw = pw; }
            s = d->trans[idx];
            pw = w;
            i += n;
        }
        if (best_end > pos) {
            *m_start = pos; *m_end = best_end; *m_pat = best_pat - 1;
            *prev_word_io = best_pw;
            *pos_io = best_end;
            return 1;
        }
        if (first_len == 0) { int32_t c0 = unit_class(d, p, len, pos, &first_len); first_word = d->word_class[c0]; }
        prev_word = first_word;
        pos += first_len;
    }
    *pos_io = pos;
    *prev_word_io = prev_word;
    return 0;
}

double loop_rt_count(const loop_rt_dfa *d, const uint8_t *p, int64_t len, const double *weights) {
    double total = 0.0;
    int64_t pos = 0, ms, me;
    int32_t prev_word = 0, pat;
    while (dfa_next(d, p, len, &pos, &prev_word, &ms, &me, &pat)) total += weights ? weights[pat] : 1.0;
    return total;
}

double loop_rt_count_negated(const loop_rt_dfa *table, const loop_rt_dfa *negators, const uint8_t *p, int64_t len,
                             const double *weights, double scope) {
    double total = 0.0;
    int64_t tpos = 0, npos = 0, ms, me, ns = 0, ne = 0;
    int32_t tpw = 0, npw = 0, mp, np;
    int has_neg = dfa_next(negators, p, len, &npos, &npw, &ns, &ne, &np);
    /* The latest negator that ends at or before the current match, and the gap read from it. */
    int64_t last = -1, gap = 0, words = 0;
    int in_word = 0, clause_ended = 0;
    while (dfa_next(table, p, len, &tpos, &tpw, &ms, &me, &mp)) {
        while (has_neg && ne <= ms) {
            last = ne; gap = ne; words = 0; in_word = 0; clause_ended = 0;
            has_neg = dfa_next(negators, p, len, &npos, &npw, &ns, &ne, &np);
        }
        int negated = 0;
        if (last >= 0) {
            while (gap < ms && !clause_ended) {
                int64_t k;
                uint32_t u = p[gap] < 0x80 ? (k = 1, p[gap]) : loop_rt_decode(p, len, gap, &k);
                if (u == '.' || u == ',' || u == ';' || u == ':' || u == '!' || u == '?') clause_ended = 1;
                int w = loop_rt_is_word(u);
                if (w && !in_word) words++;
                in_word = w;
                gap += k;
            }
            negated = !clause_ended && (double)words < scope;
        }
        total += negated ? -weights[mp] : weights[mp];
    }
    return total;
}

static int assertion_holds(int32_t code, int prev_word, int cur_word, int at_start, int at_end) {
    switch (code) {
    case 0: return at_start;
    case 1: return at_end;
    case 2: return prev_word != cur_word;
    case 3: return prev_word == cur_word;
    case 4: return !prev_word;
    default: return !cur_word;
    }
}

typedef struct { int32_t *items; int32_t count; uint32_t *mark; uint32_t gen; } thread_list;

/* Adds the state and everything reachable through splits; assertions wait for resolve(). */
static void add_state(const loop_rt_nfa *n, thread_list *l, int32_t s, int32_t *stack) {
    int32_t top = 0;
    stack[top++] = s;
    while (top > 0) {
        int32_t x = stack[--top];
        if (l->mark[x] == l->gen) continue;
        l->mark[x] = l->gen;
        if (n->kind[x] == 1) { for (int32_t k = n->arg[x] - 1; k >= 0; k--) stack[top++] = n->targets[n->next[x] + k]; continue; }
        l->items[l->count++] = x;
    }
}

uint64_t loop_rt_nfa_scan(const loop_rt_nfa *n, const uint8_t *p, int64_t len) {
    size_t ns = (size_t)n->nstates;
    enum { SMALL = 1024 };
    int32_t sbuf[SMALL * 2], sstack[SMALL * 4 + 16];
    uint32_t smarks[SMALL * 2 + 2];
    int small = ns <= SMALL;
    int32_t *buf = small ? sbuf : (int32_t *)malloc(sizeof(int32_t) * ns * 2 + 16);
    uint32_t *marks = small ? smarks : (uint32_t *)malloc(sizeof(uint32_t) * (ns * 2 + 2));
    int32_t *stack = small ? sstack : (int32_t *)malloc(sizeof(int32_t) * (ns * 4 + 16));
    memset(marks, 0, sizeof(uint32_t) * (ns * 2 + 2));
    thread_list a = {buf, 0, marks, 1}, b = {buf + ns, 0, marks + ns + 1, 1};
    thread_list *cur = &a, *nxt = &b;
    uint64_t found = 0;
    int prev_word = 0;
    int only_starts = 1;   /* cur holds nothing but the start states */
    for (int32_t k = 0; k < n->nstarts; k++) add_state(n, cur, n->starts[k], stack);
    int64_t i = 0;
    for (;;) {
        int at_end = i >= len;
        int64_t un = 1;
        int32_t c = at_end ? 0 : unit_class_of(n->ascii_class, n->bounds, n->bound_class, n->nbounds, p, len, i, &un);
        int cur_word = at_end ? 0 : n->word_class[c];
        if (!at_end && only_starts && !n->start_may_match && !n->start_class[c] && i > 0) {
            /* Nothing is under way and no pattern can begin here: cur stays the start states. */
            prev_word = cur_word;
            i += un;
            continue;
        }
        /* Resolve assertions at this position; the list grows while we walk it. */
        for (int32_t k = 0; k < cur->count; k++) {
            int32_t x = cur->items[k];
            if (n->kind[x] == 2 && assertion_holds(n->arg[x], prev_word, cur_word, i == 0, at_end)) add_state(n, cur, n->next[x], stack);
            else if (n->kind[x] == 3) found |= (uint64_t)1 << n->arg[x];
        }
        if (at_end) break;
        nxt->count = 0;
        nxt->gen++;
        for (int32_t k = 0; k < cur->count; k++) {
            int32_t x = cur->items[k];
            if (n->kind[x] == 0 && n->member[(size_t)n->arg[x] * (size_t)n->nclasses + (size_t)c]) add_state(n, nxt, n->next[x], stack);
        }
        only_starts = nxt->count == 0;
        for (int32_t k = 0; k < n->nstarts; k++) add_state(n, nxt, n->starts[k], stack);
        thread_list *t = cur; cur = nxt; nxt = t;
        prev_word = cur_word;
        i += un;
    }
    if (!small) { free(buf); free(marks); free(stack); }
    return found;
}

const loop_rt_symbol *loop_rt_symbols(int32_t *count) {
    static const loop_rt_symbol table[] = {
        {"loop_rt_decode", (void *)loop_rt_decode}, {"loop_rt_lower", (void *)loop_rt_lower},
        {"loop_rt_upper", (void *)loop_rt_upper}, {"loop_rt_is_word", (void *)loop_rt_is_word},
        {"loop_rt_class", (void *)loop_rt_class}, {"loop_rt_map_case", (void *)loop_rt_map_case},
        {"loop_rt_trim", (void *)loop_rt_trim}, {"loop_rt_len", (void *)loop_rt_len},
        {"loop_rt_word_count", (void *)loop_rt_word_count}, {"loop_rt_upper_ratio", (void *)loop_rt_upper_ratio},
        {"loop_rt_digit_ratio", (void *)loop_rt_digit_ratio}, {"loop_rt_punct_ratio", (void *)loop_rt_punct_ratio},
        {"loop_rt_equal", (void *)loop_rt_equal}, {"loop_rt_alloc", (void *)loop_rt_alloc},
        {"loop_rt_free", (void *)loop_rt_free},
        {"floor", (void *)floor},  /* llvm.floor (the softmax) on a CPU without a rounding instruction */
        {"loop_rt_count", (void *)loop_rt_count}, {"loop_rt_count_negated", (void *)loop_rt_count_negated}, {"loop_rt_nfa_scan", (void *)loop_rt_nfa_scan},
        /* LLVM may turn runs of stores and copies (a row of sums set to zero) into these. */
        {"memset", (void *)memset}, {"memcpy", (void *)memcpy}, {"memmove", (void *)memmove},
    };
    *count = (int32_t)(sizeof table / sizeof table[0]);
    return table;
}
