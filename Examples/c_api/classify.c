/* Classifies one text per line of standard input with a program compiled by
 *   loopai compile PROGRAM --emit shared -o libprogram.so
 *   loopai compile PROGRAM --emit header -o program.h
 * Build: cc -O2 -I. classify.c -L. -lprogram -Wl,-rpath,'$ORIGIN' -o classify
 * Output: one line per input, "label<TAB>confidence<TAB>decided_by". The program must take a single
 * text input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "program.h"

int main(void) {
    if (loop_abi_version() != LOOP_ABI_VERSION) {
        fprintf(stderr, "ABI mismatch: library %d, header %d\n", loop_abi_version(), LOOP_ABI_VERSION);
        return 2;
    }
    if (loop_field_count() != 1 || strcmp(loop_field_type(0), "text") != 0) {
        fprintf(stderr, "this example needs a program with one text input\n");
        return 2;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    double *scores = malloc(sizeof(double) * (size_t)loop_label_count());
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        if (n > 0 && line[n - 1] == '\n') n--;
        if (n > 0 && line[n - 1] == '\r') n--;
        loop_value in = { (const uint8_t *)line, (int64_t)n, 0.0 };
        loop_result out;
        loop_classify(&in, &out, scores);
        const char *by = out.decided_by == LOOP_DECIDED_BY_SCORE ? "score"
                       : out.decided_by == LOOP_DECIDED_BY_OTHERWISE ? "otherwise" : "rule";
        printf("%s\t%.17g\t%s\n", loop_label_name(out.label), out.confidence, by);
    }
    free(line);
    free(scores);
    return 0;
}
