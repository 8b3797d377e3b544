// Classifies one text per line of standard input with a program compiled by
//   loopai compile PROGRAM --emit shared -o DIR/libprogram.so
// through JNA (Debian's libjna-java: /usr/share/java/jna.jar), with no C code of its own.
// Build and run:
//   javac -cp /usr/share/java/jna.jar -d DIR Classify.java
//   java -cp /usr/share/java/jna.jar:DIR Classify DIR/libprogram.so < texts.txt
// Output: one line per input, "label<TAB>confidence<TAB>decided_by" (rule, score or otherwise),
// as Examples/c_api prints it. The program must take a single text input. Lines are classified
// in batches of 1,024: one call into the library per batch.
import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

public class Classify {
    /** The C ABI (Docs/abi.md). Structures are passed as raw memory: loop_value is
     *  {const uint8_t *ptr; int64_t len; double number} (24 bytes) and loop_result is
     *  {int32_t label; int32_t decided_by; double confidence} (16 bytes). */
    public interface Program extends Library {
        int loop_abi_version();
        int loop_field_count();
        String loop_field_type(int i);
        int loop_label_count();
        String loop_label_name(int i);
        void loop_classify_batch(Pointer fields, long n, Pointer out, Pointer scores);
    }

    static final int ABI_VERSION = 1, BATCH = 1024, VALUE_SIZE = 24, RESULT_SIZE = 16;
    static final int DECIDED_BY_SCORE = -1, DECIDED_BY_OTHERWISE = -2;

    public static void main(String[] args) throws IOException {
        if (args.length != 1) { System.err.println("usage: java Classify path/to/libprogram.so < texts"); System.exit(2); }
        Program p = Native.load(args[0], Program.class);
        if (p.loop_abi_version() != ABI_VERSION) {
            System.err.println("ABI mismatch: library " + p.loop_abi_version() + ", this example " + ABI_VERSION); System.exit(2);
        }
        if (p.loop_field_count() != 1 || !"text".equals(p.loop_field_type(0))) {
            System.err.println("this example needs a program with one text input"); System.exit(2);
        }
        String[] labels = new String[p.loop_label_count()];
        for (int i = 0; i < labels.length; i++) labels[i] = p.loop_label_name(i);
        PrintStream out = new PrintStream(new BufferedOutputStream(System.out, 1 << 16), false, StandardCharsets.UTF_8);
        List<byte[]> lines = new ArrayList<>();
        for (byte[] line; (line = readLine(System.in)) != null; ) {
            lines.add(line);
            if (lines.size() == BATCH) { classify(p, labels, lines, out); lines.clear(); }
        }
        classify(p, labels, lines, out);
        out.flush();
    }

    /** The texts' bytes as they are (UTF-8 or not), in native memory for the call. */
    static void classify(Program p, String[] labels, List<byte[]> lines, PrintStream out) {
        if (lines.isEmpty()) return;
        int n = lines.size();
        long total = 1;
        for (byte[] l : lines) total += l.length;
        Memory texts = new Memory(total), values = new Memory((long) n * VALUE_SIZE), results = new Memory((long) n * RESULT_SIZE);
        long at = 0;
        for (int i = 0; i < n; i++) {
            byte[] l = lines.get(i);
            texts.write(at, l, 0, l.length);
            values.setPointer((long) i * VALUE_SIZE, texts.share(at));
            values.setLong((long) i * VALUE_SIZE + 8, l.length);
            values.setDouble((long) i * VALUE_SIZE + 16, 0.0);
            at += l.length;
        }
        p.loop_classify_batch(values, n, results, null);
        for (int i = 0; i < n; i++) {
            int label = results.getInt((long) i * RESULT_SIZE), by = results.getInt((long) i * RESULT_SIZE + 4);
            double confidence = results.getDouble((long) i * RESULT_SIZE + 8);
            String how = by == DECIDED_BY_SCORE ? "score" : by == DECIDED_BY_OTHERWISE ? "otherwise" : "rule";
            out.print(labels[label] + "\t" + confidence + "\t" + how + "\n");
        }
    }

    /** One line without its \n (and a \r before it); null at the end of the input. */
    static byte[] readLine(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c;
        boolean any = false;
        while ((c = in.read()) >= 0) {
            any = true;
            if (c == '\n') break;
            b.write(c);
        }
        if (!any) return null;
        byte[] line = b.toByteArray();
        if (line.length > 0 && line[line.length - 1] == '\r') return java.util.Arrays.copyOf(line, line.length - 1);
        return line;
    }
}
