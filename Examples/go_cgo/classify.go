// Classifies one text per line of standard input with a program compiled by
//
//	loopai compile PROGRAM --emit shared -o DIR/libprogram.so
//	loopai compile PROGRAM --emit header -o DIR/program.h
//
// Build (cgo finds the header and the library through the usual variables):
//
//	CGO_CFLAGS="-I$DIR" CGO_LDFLAGS="-L$DIR -lprogram -Wl,-rpath,$DIR" go build -o classify .
//
// Output: one line per input, "label<TAB>confidence<TAB>decided_by" (rule, score or otherwise),
// as Examples/c_api prints it. The program must take a single text input. Lines are classified
// in batches of 1,024: one call into the library per batch.
package main

/*
#include <stdlib.h>
#include "program.h"
*/
import "C"

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"unsafe"
)

const batch = 1024

func main() {
	if C.loop_abi_version() != C.LOOP_ABI_VERSION {
		fmt.Fprintf(os.Stderr, "ABI mismatch: library %d, header %d\n", C.loop_abi_version(), C.LOOP_ABI_VERSION)
		os.Exit(2)
	}
	if C.loop_field_count() != 1 || C.GoString(C.loop_field_type(0)) != "text" {
		fmt.Fprintln(os.Stderr, "this example needs a program with one text input")
		os.Exit(2)
	}
	labels := make([]string, int(C.loop_label_count()))
	for i := range labels {
		labels[i] = C.GoString(C.loop_label_name(C.int32_t(i)))
	}
	in := bufio.NewReaderSize(os.Stdin, 1<<16)
	out := bufio.NewWriterSize(os.Stdout, 1<<16)
	defer out.Flush()
	var lines [][]byte
	flush := func() {
		if len(lines) == 0 {
			return
		}
		// The texts go to C memory: the library reads them during the call only.
		values := (*[1 << 28]C.loop_value)(C.malloc(C.size_t(len(lines)) * C.size_t(unsafe.Sizeof(C.loop_value{}))))[:len(lines):len(lines)]
		results := (*[1 << 28]C.loop_result)(C.malloc(C.size_t(len(lines)) * C.size_t(unsafe.Sizeof(C.loop_result{}))))[:len(lines):len(lines)]
		for i, l := range lines {
			values[i] = C.loop_value{ptr: (*C.uint8_t)(C.CBytes(l)), len: C.int64_t(len(l))}
		}
		C.loop_classify_batch(&values[0], C.int64_t(len(lines)), &results[0], nil)
		for i, r := range results {
			by := "rule"
			switch r.decided_by {
			case C.LOOP_DECIDED_BY_SCORE:
				by = "score"
			case C.LOOP_DECIDED_BY_OTHERWISE:
				by = "otherwise"
			}
			fmt.Fprintf(out, "%s\t%s\t%s\n", labels[int(r.label)], strconv.FormatFloat(float64(r.confidence), 'g', -1, 64), by)
			C.free(unsafe.Pointer(values[i].ptr))
		}
		C.free(unsafe.Pointer(&values[0]))
		C.free(unsafe.Pointer(&results[0]))
		lines = lines[:0]
	}
	for {
		line, err := in.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] == '\n' {
			line = line[:len(line)-1]
		}
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		if err == nil || len(line) > 0 {
			lines = append(lines, line)
			if len(lines) == batch {
				flush()
			}
		}
		if err != nil {
			break
		}
	}
	flush()
}
