import Foundation
import LoopDiagnostics
import LoopSyntax
import LoopSema
import LoopInterpreter
import LoopData

/// The offline program inducer (issue 4): learns a readable `.loop` program from labeled
/// examples, with no LLM. The model is multinomial logistic regression over whole-word counts
/// (exactly what `sum_words(lower(text), table)` computes) and a few Stdlib predicates; the
/// emitted program computes the (rounded) model's scores, so argmax and softmax agree with it.
public enum LoopInduce {}

/// One labeled example.
public typealias LabeledExample = (text: [UInt8], label: String)

public enum InduceError: Error, CustomStringConvertible {
    case noExamples
    case badLabel(String)
    case unknownLabel(String)
    case checkFailed(source: String, diagnostics: String)

    public var description: String {
        switch self {
        case .noExamples: return "no labeled examples"
        case .badLabel(let l): return "label `\(l)` is not a Loop identifier"
        case .unknownLabel(let l): return "example label `\(l)` is not in the label list"
        case .checkFailed(_, let d): return "the induced program does not check cleanly:\n\(d)"
        }
    }
}

/// A learned program and what is known about it.
public struct InducedProgram {
    /// The `.loop` source text.
    public let source: String
    /// The checked program (no errors, no warnings).
    public let program: TypedProgram
    /// Labels in program order.
    public let labels: [String]
    /// Accuracy of the emitted program (after rounding) on the training examples.
    public let trainingAccuracy: Double
    /// Accuracy of the unrounded, unpruned model on the training examples (for comparison).
    public let modelTrainingAccuracy: Double
    /// Number of words kept in the tables (summed over labels).
    public let wordCount: Int
    /// Number of candidate words before selection.
    public let vocabularySize: Int
    /// The L2 strength the program was trained with.
    public var l2: Double = 0
    /// The strengths tried and their accuracy on the held-out share (empty when not chosen).
    public var validation: [(l2: Double, accuracy: Double)] = []
    /// With cross-validation: what it chose (the strength is `l2`), and each candidate's accuracy
    /// over the folds.
    public var crossValidation: CrossValidation? = nil
    /// With `chooseVocabulary` and held-out examples (the folds or the seventh): the accuracy of
    /// the chosen model pruned to each number of words per label, and the number kept.
    public var vocabulary: Vocabulary? = nil

    public struct Vocabulary: Sendable {
        /// Words per label tried, increasing (the last is `--max-words`), and the accuracy of each.
        public let wordsPerLabel: [Int]
        public let accuracy: [Double]
        /// The fewest words per label as accurate as the most (`wordsPerLabel.last`).
        public let chosen: Int
        /// Where the accuracy was measured ("5-fold cross-validation", "a held-out seventh").
        public let measuredOn: String
    }

    public struct CrossValidation: Sendable {
        public struct Candidate: Sendable {
            public let negation: Bool, balanced: Bool
            public var naiveBayes: NaiveBayesBlend.Mode = .off
            public let l2: Double, accuracy: Double
            /// With `chooseVocabulary`: the accuracy over the folds pruned to each number of words per label.
            public var byWords: [Double] = []
            /// The same settings (the accuracy aside).
            public func sameSettings(as o: Candidate) -> Bool {
                negation == o.negation && balanced == o.balanced && naiveBayes == o.naiveBayes && l2 == o.l2
            }
        }
        public let folds: Int
        public let negation: Bool
        public let balanced: Bool
        public var naiveBayes: NaiveBayesBlend.Mode = .off
        public let candidates: [Candidate]
        /// The candidate trained, the defaults' (nil when the grid lacks the default strength),
        /// the most accurate, and the standard error that separates a choice from the defaults.
        public let chosen: Candidate
        public let defaults: Candidate?
        public let best: Candidate
        public let standardError: Double
        public var keptDefaults: Bool { defaults.map { $0.sameSettings(as: chosen) } ?? false }
    }

    /// Runs the program on labeled examples.
    public func evaluate(_ examples: [LabeledExample]) -> LabeledEvaluation {
        LabeledEvaluation.of(program: program, examples: examples)
    }
}

/// Accuracy and per-label precision / recall / F1 of a program on labeled examples.
public struct LabeledEvaluation: CustomStringConvertible {
    public let labels: [String]
    /// confusion[expected][predicted], over examples whose label is a program label.
    public let confusion: [[Int]]
    /// Examples whose label the program does not have (always wrong; counted in `total`).
    public let unknownLabel: Int
    public var total: Int { confusion.reduce(0) { $0 + $1.reduce(0, +) } + unknownLabel }
    public var correct: Int { labels.indices.reduce(0) { $0 + confusion[$1][$1] } }
    public var accuracy: Double { total == 0 ? 0 : Double(correct) / Double(total) }

    public func precision(_ label: String) -> Double {
        guard let i = labels.firstIndex(of: label) else { return 0 }
        let p = labels.indices.reduce(0) { $0 + confusion[$1][i] }
        return p == 0 ? 0 : Double(confusion[i][i]) / Double(p)
    }
    public func recall(_ label: String) -> Double {
        guard let i = labels.firstIndex(of: label) else { return 0 }
        let n = confusion[i].reduce(0, +)
        return n == 0 ? 0 : Double(confusion[i][i]) / Double(n)
    }
    public func f1(_ label: String) -> Double {
        let p = precision(label), r = recall(label)
        return p + r == 0 ? 0 : 2 * p * r / (p + r)
    }
    public var macroF1: Double { labels.isEmpty ? 0 : labels.map(f1).reduce(0, +) / Double(labels.count) }

    public var description: String {
        var s = String(format: "accuracy %.4f (%d/%d)", accuracy, correct, total)
        for l in labels { s += String(format: "\n  %@: P %.3f R %.3f F1 %.3f", l, precision(l), recall(l), f1(l)) }
        return s
    }

    public static func of(program: TypedProgram, examples: [LabeledExample]) -> LabeledEvaluation {
        let interp = Interpreter(program)
        let labels = program.labels
        var conf = Array(repeating: Array(repeating: 0, count: labels.count), count: labels.count)
        var unknown = 0
        for e in examples {
            guard let y = program.labelIndex(named: e.label) else { unknown += 1; continue }
            conf[y][interp.evaluate([.text(e.text)]).label] += 1
        }
        return LabeledEvaluation(labels: labels, confusion: conf, unknownLabel: unknown)
    }
}

public enum Inducer {
    public struct Options {
        /// The engine that runs drafts over the training examples (to measure them and pick the
        /// `test` lines). The interpreter by default; callers that link the JIT pass it, which
        /// gives the same answers bit for bit, much faster on large programs.
        public var engine: @Sendable (TypedProgram) -> ClassifierEngine = { Interpreter($0) }
        /// The `program` name in the emitted source.
        public var programName = "induced"
        /// The application's string per label, parallel to the labels (`labels id as "string"`);
        /// nil when every label is named by its identifier.
        public var labelNames: [String]? = nil
        /// The name of the program's one text input (a task's field, e.g. `message`).
        public var inputName = "text"
        /// A description string for the program header.
        public var programDescription = "Induced offline from labeled examples (logistic regression over word counts)."
        /// A word becomes a candidate when it occurs in at least this many training examples.
        public var minDocumentFrequency = 2
        /// At most this many words per label table (largest |weight| first).
        public var maxWordsPerLabel = 300
        /// Choose the words per label on the held-out examples the strength is chosen on (the
        /// folds or the seventh): the fewest of `vocabularyGrid` (below `maxWordsPerLabel`) and
        /// `maxWordsPerLabel` whose pruned model is as accurate as with `maxWordsPerLabel`.
        /// Off in the library (the loop's refits), on in `loopai generate`.
        public var chooseVocabulary = false
        public var vocabularyGrid = [25, 50, 100, 200]
        /// Weights smaller than this (in absolute value) are dropped from the tables.
        public var minAbsWeight = 0.02
        /// L2 regularization strength (on the mean cross-entropy); with `l2Grid`, the strength
        /// the held-out share of the training examples prefers replaces it.
        public var l2 = 1e-3
        /// Strengths tried, strongest first, on a regularisation path: a model is fitted to 6/7 of
        /// the training examples with the first, then, starting from its weights, with each next one
        /// for a third of the iterations; the one most accurate on the other 1/7 is kept (the
        /// strongest on ties). Empty: `l2` as it is. Only with `validationMinimum` examples or
        /// more: a seventh of fewer cannot tell the strengths apart, and `l2` is kept.
        public var l2Grid: [Double] = [1e-3, 3e-4, 1e-4, 3e-5]
        public var validationMinimum = 2000
        /// The path with `normalize` (its features are scaled otherwise).
        public var normalizedL2Grid: [Double] = [3e-3, 1e-3, 3e-4]
        /// The iterations when the strength is chosen (large data sets: each pass sees more, and
        /// the path and two fits must stay within the time of two fits of `iterations`).
        public var validatedIterations = 200
        /// Full-batch Adam iterations, and again for the refit after selection.
        public var iterations = 400
        public var learningRate = 0.05
        /// Binary std.text predicates offered as features (each `fn NAME(t: text) -> bool`).
        public var predicates = ["has_currency", "has_url", "has_phone", "has_email", "has_number", "is_shouting"]
        /// Offer `min(len(text), 400) / 100` as a feature.
        public var lengthFeature = true
        /// Significant digits of the emitted weights.
        public var significantDigits = 3
        /// Count a word as −1 after an English negator ("not good"), as std.text's
        /// `sum_words_negating` does; the program then scores with that function.
        public var negation = false
        /// Weigh each word occurrence by the word's inverse document frequency and divide by the
        /// text's total (a length-normalised tf-idf, the weighting of the strongest linear text
        /// classifiers): the program computes `sum_words(msg, word_idf)` once and scales every
        /// label's sum by its inverse. nil: on for more than two labels when the strength is
        /// chosen on held-out examples (`validationMinimum` or more), where it is measurably better
        /// (BANKING77 89.8% against 88.7%); two-label tasks and small data keep plain counts.
        public var normalize: Bool? = nil
        /// Weigh each example by N / (labels × its label's count) in the loss ("balanced"), so a
        /// rare label's examples count as much in total as a frequent one's.
        public var balanced = false
        /// Below `validationMinimum` examples: with k > 1, the L2 strength is chosen by k-fold
        /// cross-validation over `crossValidationL2Grid` (the fold accuracy summed over folds; the
        /// strongest on ties), and, for two labels, so are `negation` and `balanced` where
        /// `chooseNegation` / `chooseBalanced` leave them open (plain counts and equal weights on
        /// ties). The best candidate replaces the defaults (`l2`, `negation`, `balanced` as given)
        /// only when its accuracy beats theirs by more than one standard error. Off (0) in
        /// the library, where the loop refits often; `loopai generate` uses 5.
        public var crossValidationFolds = 0
        public var crossValidationL2Grid: [Double] = [3e-3, 1e-3, 3e-4, 1e-4]
        /// Told what long steps are under way (cross-validation), for a progress line.
        public var progress: (@Sendable (String) -> Void)? = nil
        public var chooseNegation = false
        public var chooseBalanced = false
        /// Two labels: blend the regression's word weights with Naive Bayes log-count ratios
        /// (`NaiveBayesBlend`); with `chooseNaiveBayes`, cross-validation decides between off,
        /// blend and scaled (each with equal class weights: the blend carries the label prior).
        public var naiveBayes: NaiveBayesBlend.Mode = .off
        public var chooseNaiveBayes = false
        /// The Naive Bayes share of the blended weights, and its Laplace smoothing.
        public var naiveBayesMix = 0.25
        public var naiveBayesAlpha = 1.0
        /// Number of `test` lines (hardest correctly classified training examples).
        public var testCount = 8
        /// Longest example (in bytes) used for a `test` line.
        public var maxTestLength = 200
        public init() {}
    }

    /// The negators of std.text's `sum_words_negating` (a test keeps the two lists equal), and its scope.
    public static let englishNegators = [
        "not", "no", "never", "nothing", "nobody", "none", "neither", "nor", "without", "hardly", "cannot", "can't", "can’t",
        "don't", "don’t", "doesn't", "doesn’t", "didn't", "didn’t", "isn't", "isn’t", "wasn't", "wasn’t", "aren't", "aren’t",
        "weren't", "weren’t", "won't", "won’t", "wouldn't", "wouldn’t", "shouldn't", "shouldn’t", "couldn't", "couldn’t",
        "haven't", "haven’t", "hasn't", "hasn’t", "hadn't", "hadn’t", "ain't", "ain’t",
    ]
    public static let negationScope = 3.0

    // MARK: tokenization

    /// The words `sum_words(lower(text), …)` sees: maximal runs of word characters of the
    /// lowercased text, as UTF-8 bytes.
    public static func words(_ text: [UInt8]) -> [[UInt8]] {
        let low = TextSemantics.mapCase(text, TextSemantics.lower)
        var out: [[UInt8]] = []
        var start = -1
        low.withUnsafeBufferPointer { b in
            var i = 0
            while i < b.count {
                let (u, n) = TextSemantics.decode(b, i)
                if TextSemantics.isWord(u) {
                    if start < 0 { start = i }
                } else if start >= 0 {
                    out.append(Array(b[start..<i])); start = -1
                }
                i += n
            }
            if start >= 0 { out.append(Array(b[start..<b.count])) }
        }
        return out
    }


    // MARK: predicates through the interpreter

    /// Evaluates `fn(text)` for each std.text predicate on every text, with `engine` (the
    /// interpreter by default).
    static func predicateValues(_ names: [String], _ texts: [[UInt8]],
                                engine: (TypedProgram) -> ClassifierEngine = { Interpreter($0) }) -> [[Bool]] {
        guard !names.isEmpty else { return texts.map { _ in [] } }
        var src = "program features\ninput text: text\nlabels \(names.indices.map { "p\($0)" }.joined(separator: ", "))\nuse std.text\n"
        for (i, n) in names.enumerated() { src += "score p\(i) { 1 when \(n)(text) }\n" }
        src += "otherwise => p0\n"
        let (prog, diags) = Checker.checkSource(SourceFile(name: "<features>", text: src), stdlib: .embedded)
        guard let p = prog, !diags.contains(where: { $0.severity == .error }) else { return texts.map { _ in names.map { _ in false } } }
        return engine(p).classifyBatch(texts.map { [.text($0)] }).map { d in d.scores.map { $0 != 0 } }
    }

    // MARK: induction

    public static func induce(examples: [LabeledExample], labels givenLabels: [String]? = nil,
                              options: Options = Options()) throws -> InducedProgram {
        guard !examples.isEmpty else { throw InduceError.noExamples }
        var labels = givenLabels ?? []
        if givenLabels == nil {
            for e in examples where !labels.contains(e.label) { labels.append(e.label) }
        }
        var options = options
        var labelIndex: [String: Int] = [:]
        for (i, l) in labels.enumerated() { labelIndex[l] = i }
        if labels.contains(where: { LabelIdentifiers.problem($0) != nil }) {
            // The application's own strings (`not spam`, `card_payment_fee_charged?`): the program
            // names them by derived identifiers and answers with the strings (`labels id as "..."`).
            guard options.labelNames == nil else { throw InduceError.badLabel(labels.first { LabelIdentifiers.problem($0) != nil }!) }
            options.labelNames = labels
            labels = LabelIdentifiers.derive(labels)
        } else if let names = options.labelNames {
            // Examples may carry the application's strings as well as the identifiers.
            for (i, n) in names.enumerated() where i < labels.count && labelIndex[n] == nil { labelIndex[n] = i }
        }
        var y: [Int] = []
        for e in examples {
            guard let i = labelIndex[e.label] else { throw InduceError.unknownLabel(e.label) }
            y.append(i)
        }
        let L = labels.count, N = examples.count
        options.normalize = options.normalize ?? (L > 2 && N >= options.validationMinimum && options.l2Grid.count > 1)

        // Vocabulary: words in at least minDocumentFrequency examples, in first-seen order.
        let docWords = examples.map { words($0.text) }
        var df: [[UInt8]: Int] = [:]
        var order: [[UInt8]] = []
        for ws in docWords {
            for w in Set(ws) {
                if df[w] == nil { order.append(w) }
                df[w, default: 0] += 1
            }
        }
        let vocab = order.filter { df[$0]! >= options.minDocumentFrequency }.sorted { a, b in
            df[a]! != df[b]! ? df[a]! > df[b]! : a.lexicographicallyPrecedes(b)
        }
        var wordIndex: [[UInt8]: Int] = [:]
        for (i, w) in vocab.enumerated() { wordIndex[w] = i }

        // Dense extra features: predicates, then length.
        let predVals = predicateValues(options.predicates, examples.map(\.text), engine: options.engine)
        var extraNames: [String] = []
        var extraCols: [[Double]] = []
        for (k, n) in options.predicates.enumerated() {
            let col = predVals.map { $0[k] ? 1.0 : 0.0 }
            let on = col.reduce(0, +)
            if on > 0 && on < Double(N) { extraNames.append(n); extraCols.append(col) }
        }
        if options.lengthFeature {
            extraNames.append("#len")
            extraCols.append(examples.map { Double(min(TextSemantics.units($0.text).units.count, 400)) / 100 })
        }
        // With `normalize`, a word's value is count × idf × scale / (the text's total idf), the
        // idf rounded as the program writes it and the total what `sum_words(msg, word_idf)` gives.
        var idf: [Double] = []
        var idfScale = 1.0
        var perText = [Double](repeating: 1, count: N)
        if options.normalize == true {
            idf = vocab.map { roundSig(log(Double(1 + N) / Double(1 + df[$0]!)) + 1, options.significantDigits) }
            let totals = docWords.map { ws in ws.reduce(0.0) { $0 + (wordIndex[$1].map { idf[$0] } ?? 0) } }
            let present = totals.filter { $0 > 0 }
            idfScale = roundSig(present.isEmpty ? 1 : present.reduce(0, +) / Double(present.count), options.significantDigits)
            perText = totals.map { $0 > 0 ? idfScale / $0 : 0 }
        }
        let V = vocab.count, E = extraNames.count
        // Word columns: one per word, and with negation a second per word for its occurrences after
        // a negator (column V + j), so "good" and "not good" get weights of their own; then the
        // dense extras. Sparse rows of (feature, value).
        func featureRows(negation: Bool) -> (W: Int, F: Int, rows: [[(Int, Double)]]) {
            let W = negation ? 2 * V : V
            // With negation, an occurrence after a negator is found by the very scan
            // `sum_words_negating(msg, table)` does, so the program's score is the model's.
            let negated: [[Int: Double]]? = negation ? {
                let table = KeywordSet(vocab), negators = KeywordSet(Inducer.englishNegators.map { Array($0.utf8) })
                return examples.map { e in
                    var counts: [Int: Double] = [:]
                    _ = table.negatedSum(TextSemantics.mapCase(e.text, TextSemantics.lower), negators: negators, scope: Inducer.negationScope) { k, neg in
                        counts[neg ? V + k : k, default: 0] += 1
                    }
                    return counts
                }
            }() : nil
            var rows: [[(Int, Double)]] = []
            for (d, ws) in docWords.enumerated() {
                var counts: [Int: Double] = [:]
                if let negated { counts = negated[d].filter { $0.value != 0 } }
                else { for w in ws { if let j = wordIndex[w] { counts[j, default: 0] += 1 } } }
                if options.normalize == true {
                    for (j, c) in counts { counts[j] = c * idf[j % V] * perText[d] }
                    counts = counts.filter { $0.value != 0 }
                }
                var r = counts.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
                for k in 0..<E where extraCols[k][d] != 0 { r.append((W + k, extraCols[k][d])) }
                rows.append(r)
            }
            return (W, W + E, rows)
        }

        // Words per label to measure (only the maximum when the vocabulary is not chosen).
        let caps = options.chooseVocabulary ? options.vocabularyGrid.filter { $0 < options.maxWordsPerLabel } + [options.maxWordsPerLabel]
                                            : [options.maxWordsPerLabel]
        var vocabulary: InducedProgram.Vocabulary? = nil

        // Small data: the strength, and what the caller left open of negation and class weights,
        // chosen by k-fold cross-validation. Folds are stratified: the j-th example of a label goes
        // to fold j mod k, so every fold holds every label in its share (an ordered data set
        // would otherwise put one label in a fold).
        var crossValidation: InducedProgram.CrossValidation? = nil
        var builtRows: [Bool: (W: Int, F: Int, rows: [[(Int, Double)]])] = [:]   // per negation, built once
        let k = options.crossValidationFolds
        // Per negation setting, the (Naive Bayes, class weights) pairs searched: class weights with
        // the regression alone, the blends with equal weights.
        let weightings: [(nb: NaiveBayesBlend.Mode, balanced: Bool)] = {
            let balancings = options.chooseBalanced && L == 2 ? [false, true] : [options.balanced]
            guard options.chooseNaiveBayes && L == 2 else { return balancings.map { (L == 2 ? options.naiveBayes : .off, $0) } }
            return balancings.map { (.off, $0) } + [(.blend, options.balanced), (.scaled, options.balanced)]
        }()
        let variants = (options.chooseNegation && L == 2 ? 2 : 1) * weightings.count
        if k > 1 && N < options.validationMinimum && N >= 2 * k && variants * options.crossValidationL2Grid.count > 1 {
            var candidates: [InducedProgram.CrossValidation.Candidate] = []
            var seenOfLabel = [Int](repeating: 0, count: L)
            let foldOf: [Int] = y.map { c in defer { seenOfLabel[c] += 1 }; return seenOfLabel[c] % k }
            options.progress?("cross-validating \(variants * options.crossValidationL2Grid.count) candidates on \(k) folds of \(N) examples (\(L) labels)")
            // Negation and class weights are searched for two labels (sentiment, spam); with more,
            // every candidate costs as many labels' weights again, and only the strength is.
            for negation in options.chooseNegation && L == 2 ? [false, true] : [options.negation] {
                let f = featureRows(negation: negation)
                builtRows[negation] = f
                for (nb, balanced) in weightings {
                    var correct = [Double](repeating: 0, count: options.crossValidationL2Grid.count)
                    var byWords = [[Double]](repeating: [Double](repeating: 0, count: caps.count), count: options.crossValidationL2Grid.count)
                    for fold in 0..<k {
                        let fit = (0..<N).filter { foldOf[$0] != fold }, held = (0..<N).filter { foldOf[$0] == fold }
                        let fitRows = fit.map { f.rows[$0] }, fitY = fit.map { y[$0] }
                        let heldRows = held.map { f.rows[$0] }, heldY = held.map { y[$0] }
                        // The Naive Bayes ratios from the fold's training part only.
                        let blend = NaiveBayesBlend(rows: fitRows, y: fitY, words: f.W, mode: nb, options: options)
                        let trainRows = blend?.features(fitRows) ?? fitRows
                        var path = Model(labels: L, features: f.F)
                        var o = options
                        o.balanced = balanced
                        for (g, strength) in options.crossValidationL2Grid.enumerated() {
                            o.l2 = strength
                            o.iterations = g == 0 ? options.iterations : max(1, options.iterations / 2)
                            path.train(rows: trainRows, y: fitY, mask: nil, options: o)
                            let m = blend?.blend(path) ?? path
                            // Whole counts of right answers: equal counts compare equal, whatever their split over the folds.
                            correct[g] += Double(m.correct(rows: heldRows, y: heldY))
                            if caps.count > 1 {
                                let curve = m.vocabularyCurve(caps: caps, words: f.W, minAbs: options.minAbsWeight, rows: heldRows, y: heldY)
                                for c in caps.indices { byWords[g][c] += Double(curve[c]) }
                            }
                        }
                    }
                    for (g, strength) in options.crossValidationL2Grid.enumerated() {
                        candidates.append(.init(negation: negation, balanced: balanced, naiveBayes: nb, l2: strength, accuracy: correct[g] / Double(N),
                                                byWords: byWords[g].map { $0 / Double(N) }))
                    }
                }
            }
            // The first of the most accurate (plain before negation, equal weights before balanced,
            // strongest first) replaces the defaults only when it beats them by more than the folds'
            // standard error, √(p(1 − p)/N): on a few hundred examples most differences are noise.
            let top = candidates.indices.reduce(0) { candidates[$1].accuracy > candidates[$0].accuracy ? $1 : $0 }
            var chosen = top, standardError = 0.0
            let d = candidates.firstIndex(where: { $0.negation == options.negation && $0.balanced == options.balanced && $0.l2 == options.l2
                && $0.naiveBayes == (L == 2 ? options.naiveBayes : .off) })
            if let d {
                let p = candidates[d].accuracy
                standardError = (p * (1 - p) / Double(N)).squareRoot()
                if candidates[top].accuracy - p <= standardError { chosen = d }
            }
            options.negation = candidates[chosen].negation
            options.balanced = candidates[chosen].balanced
            options.naiveBayes = candidates[chosen].naiveBayes
            options.l2 = candidates[chosen].l2
            options.l2Grid = [options.l2]
            if caps.count > 1 {
                vocabulary = .choose(caps: caps, accuracy: candidates[chosen].byWords, measuredOn: "\(k)-fold cross-validation")
            }
            crossValidation = .init(folds: k, negation: options.negation, balanced: options.balanced, naiveBayes: options.naiveBayes, candidates: candidates,
                                    chosen: candidates[chosen], defaults: d.map { candidates[$0] }, best: candidates[top], standardError: standardError)
        }
        let (W, F, rows) = builtRows[options.negation] ?? featureRows(negation: options.negation)

        // Train, center per feature, select, refit on the selection.
        // The regularisation strength, chosen on a held-out share of the training examples.
        // (`options` is already a local copy.)
        var validation: [(l2: Double, accuracy: Double)] = []
        // Normalised features are on another scale: their path starts stronger.
        if options.normalize == true && options.l2Grid == Options().l2Grid { options.l2Grid = options.normalizedL2Grid }
        if options.l2Grid.count > 1 && N >= max(14, options.validationMinimum) {
            options.iterations = options.validatedIterations
            let held = Set(stride(from: 3, to: N, by: 7))
            let fitRows = rows.indices.filter { !held.contains($0) }, heldRows = held.sorted()
            let fitY = fitRows.map { y[$0] }
            let blend = NaiveBayesBlend(rows: fitRows.map { rows[$0] }, y: fitY, words: W, mode: options.naiveBayes, options: options)
            let trainRows = blend?.features(fitRows.map { rows[$0] }) ?? fitRows.map { rows[$0] }
            let held7 = heldRows.map { rows[$0] }, heldY = heldRows.map { y[$0] }
            var path = Model(labels: L, features: F)
            var o = options
            var curves: [[Double]] = []
            for (k, strength) in options.l2Grid.enumerated() {
                o.l2 = strength
                o.iterations = k == 0 ? options.iterations : max(1, options.iterations / 3)
                path.train(rows: trainRows, y: fitY, mask: nil, options: o)
                let m = blend?.blend(path) ?? path
                validation.append((strength, m.accuracy(rows: held7, y: heldY)))
                if caps.count > 1 {
                    curves.append(m.vocabularyCurve(caps: caps, words: W, minAbs: options.minAbsWeight, rows: held7, y: heldY).map { Double($0) / Double(max(held7.count, 1)) })
                }
            }
            let best = validation.indices.max { validation[$0].accuracy != validation[$1].accuracy
                ? validation[$0].accuracy < validation[$1].accuracy : validation[$0].l2 < validation[$1].l2 }!
            options.l2 = validation[best].l2
            if caps.count > 1 { vocabulary = .choose(caps: caps, accuracy: curves[best], measuredOn: "a held-out seventh") }
        }
        let blend = NaiveBayesBlend(rows: rows, y: y, words: W, mode: options.naiveBayes, options: options)
        var model = Model(labels: L, features: F)
        model.train(rows: blend?.features(rows) ?? rows, y: y, mask: nil, options: options)
        if let blend { model = blend.blend(model) }
        let modelAcc = model.accuracy(rows: rows, y: y)
        model.center()
        let wordsPerLabel = vocabulary?.chosen ?? options.maxWordsPerLabel
        let mask = model.selection(order: model.wordOrder(words: W, minAbs: options.minAbsWeight), cap: wordsPerLabel, words: W, minAbs: options.minAbsWeight)
        // The selection refitted (a blend is not: the refit would be the regression alone).
        if blend == nil { model.train(rows: rows, y: y, mask: mask, options: options) }

        // Round for the program.
        func r(_ v: Double) -> Double { roundSig(v, options.significantDigits) }
        let bias = model.b.map(r)
        var tables: [[(word: [UInt8], weight: Double)]] = []
        var flips: [[(word: [UInt8], weight: Double)]] = []
        var extras: [[(name: String, weight: Double)]] = []
        func sorted(_ t: [(word: [UInt8], weight: Double)]) -> [(word: [UInt8], weight: Double)] {
            t.sorted { $0.weight != $1.weight ? $0.weight > $1.weight : $0.word.lexicographicallyPrecedes($1.word) }
        }
        for l in 0..<L {
            var t: [(word: [UInt8], weight: Double)] = [], flip: [(word: [UInt8], weight: Double)] = []
            for j in 0..<V where mask[l][j] || (options.negation && mask[l][V + j]) {
                // Normalised: the tables hold weight × idf, and the program scales the sums.
                let scale = options.normalize == true ? idf[j] : 1
                let p = mask[l][j] ? model.w[l][j] : 0
                if options.negation {
                    // p for a plain occurrence, q after a negator: sum_words adds (p + q) / 2 to
                    // both, sum_words_negating adds (p − q) / 2 to a plain one and takes it from
                    // a negated one.
                    let q = mask[l][V + j] ? model.w[l][V + j] : 0
                    let a = r((p + q) / 2 * scale), b = r((p - q) / 2 * scale)
                    if abs(a) >= options.minAbsWeight { t.append((vocab[j], a)) }
                    if abs(b) >= options.minAbsWeight { flip.append((vocab[j], b)) }
                } else {
                    let w = r(p * scale)
                    if abs(w) >= options.minAbsWeight { t.append((vocab[j], w)) }
                }
            }
            tables.append(sorted(t))
            flips.append(sorted(flip))
            var x: [(name: String, weight: Double)] = []
            for k in 0..<E where mask[l][W + k] {
                let w = r(model.w[l][W + k])
                if abs(w) >= options.minAbsWeight { x.append((extraNames[k], w)) }
            }
            extras.append(x)
        }

        var counts = [Int](repeating: 0, count: L)
        for c in y { counts[c] += 1 }
        let majority = counts.indices.max { counts[$0] != counts[$1] ? counts[$0] < counts[$1] : $0 > $1 }!

        options.naiveBayes = blend == nil ? .off : options.naiveBayes
        var emitter = Emitter(options: options, labels: labels, bias: bias, tables: tables, flips: flips, extras: extras,
                              majority: majority, trainingSize: N, vocabularySize: V, wordsPerLabel: wordsPerLabel, vocabulary: vocabulary,
                              l2Choice: crossValidation.flatMap { cv in
                                  Set(cv.candidates.map(\.l2)).count > 1 ? (cv.keptDefaults ? "kept" : "chosen") + " by \(cv.folds)-fold cross-validation" : nil }
                                ?? (validation.isEmpty ? nil : "chosen on a held-out seventh of the examples"))
        if options.normalize == true {
            // Every candidate word with its idf: the text's total runs over all of them, as in training.
            emitter.idf = vocab.indices.map { (vocab[$0], idf[$0]) }
            emitter.idfScale = idfScale
        }
        // First without tests, to find the hardest correctly classified examples.
        let draft = try emitter.check(emitter.source(tests: []))
        let decisions = options.engine(draft).classifyBatch(examples.map { [.text($0.text)] })
        var decided: [(i: Int, conf: Double)] = []
        var correct = 0
        for (i, d) in decisions.enumerated() {
            if d.label == y[i] {
                correct += 1
                decided.append((i, d.confidence))
            }
        }
        let tests = pickTests(decided, examples: examples, y: y, labels: L, options: options)
        let source = emitter.source(tests: tests.map { (examples[$0].text, labels[y[$0]]) })
        let program = try emitter.check(source)
        return InducedProgram(source: source, program: program, labels: labels,
                              trainingAccuracy: Double(correct) / Double(N), modelTrainingAccuracy: modelAcc,
                              wordCount: tables.reduce(0) { $0 + $1.count }, vocabularySize: V, l2: options.l2, validation: validation,
                              crossValidation: crossValidation, vocabulary: vocabulary)
    }

    /// The lowest-confidence correctly classified examples, taken round-robin over labels.
    static func pickTests(_ decided: [(i: Int, conf: Double)], examples: [LabeledExample], y: [Int], labels L: Int,
                          options: Options) -> [Int] {
        var perLabel = [[(i: Int, conf: Double)]](repeating: [], count: L)
        var seen = Set<[UInt8]>()
        for d in decided.sorted(by: { $0.conf != $1.conf ? $0.conf < $1.conf : $0.i < $1.i }) {
            let t = examples[d.i].text
            guard t.count <= options.maxTestLength, !t.isEmpty, String(bytes: t, encoding: .utf8) != nil,
                  !t.contains(0), !seen.contains(t) else { continue }
            seen.insert(t)
            perLabel[y[d.i]].append(d)
        }
        var out: [Int] = []
        var k = 0
        while out.count < options.testCount && perLabel.contains(where: { k < $0.count }) {
            for l in 0..<L where k < perLabel[l].count && out.count < options.testCount { out.append(perLabel[l][k].i) }
            k += 1
        }
        return out
    }

    /// Rounds to `digits` significant digits.
    static func roundSig(_ v: Double, _ digits: Int) -> Double {
        guard v != 0, v.isFinite else { return 0 }
        let e = Int(floor(log10(abs(v)))) - digits + 1
        let s = pow(10.0, Double(-e))
        let out = (v * s).rounded() / s
        return Double(format(out))!   // exactly the value the source text denotes
    }

    /// A plain decimal spelling (no exponent), shortest that round-trips.
    static func format(_ v: Double) -> String {
        if v == 0 { return "0" }
        var s = "\(v)"
        if s.contains("e") {
            s = String(format: "%.12f", v)
            while s.hasSuffix("0") { s.removeLast() }
        }
        if s.hasSuffix(".0") { s.removeLast(2) }
        if s.hasSuffix(".") { s.removeLast() }
        return s
    }
}

/// Softmax regression, trained by full-batch Adam on sparse rows.
struct Model {
    let L: Int, F: Int
    var w: [[Double]]
    var b: [Double]

    init(labels: Int, features: Int) {
        L = labels; F = features
        w = Array(repeating: Array(repeating: 0, count: features), count: labels)
        b = Array(repeating: 0, count: labels)
    }

    func scores(_ row: [(Int, Double)]) -> [Double] {
        var s = b
        for l in 0..<L { for (j, x) in row { s[l] += w[l][j] * x } }
        return s
    }

    func accuracy(rows: [[(Int, Double)]], y: [Int]) -> Double {
        Double(correct(rows: rows, y: y)) / Double(max(rows.count, 1))
    }

    /// How many rows the model answers right.
    func correct(rows: [[(Int, Double)]], y: [Int]) -> Int {
        var c = 0
        for (i, r) in rows.enumerated() {
            let s = scores(r)
            var best = 0
            for l in 1..<L where s[l] > s[best] { best = l }
            if best == y[i] { c += 1 }
        }
        return c
    }

    /// Per label, its word columns (`0 ..< words`) of |weight| ≥ `minAbs`, largest first (on a
    /// centred model: the words the program may keep, in the order it keeps them).
    func wordOrder(words W: Int, minAbs: Double) -> [[Int]] {
        (0..<L).map { l in
            var cand: [(Int, Double)] = []
            for j in 0..<W where abs(w[l][j]) >= minAbs { cand.append((j, abs(w[l][j]))) }
            cand.sort { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
            return cand.map(\.0)
        }
    }

    /// What the program keeps: per label the first `cap` words of `order`, and its other
    /// features of |weight| ≥ `minAbs`.
    func selection(order: [[Int]], cap: Int, words W: Int, minAbs: Double) -> [[Bool]] {
        var mask = [[Bool]](repeating: [Bool](repeating: false, count: F), count: L)
        for l in 0..<L {
            for j in order[l].prefix(cap) { mask[l][j] = true }
            for j in W..<F where abs(w[l][j]) >= minAbs { mask[l][j] = true }
        }
        return mask
    }

    /// How many of `rows` this model answers right, centred and pruned to each number of words per
    /// label (without a refit: the curve compares sizes, not the final weights).
    func vocabularyCurve(caps: [Int], words W: Int, minAbs: Double, rows: [[(Int, Double)]], y: [Int]) -> [Int] {
        var c = self
        c.center()
        let order = c.wordOrder(words: W, minAbs: minAbs)
        return caps.map { cap in
            let mask = c.selection(order: order, cap: cap, words: W, minAbs: minAbs)
            var m = c
            for l in 0..<L { for j in 0..<F where !mask[l][j] { m.w[l][j] = 0 } }
            return m.correct(rows: rows, y: y)
        }
    }

    /// Subtracts, per feature, a value from every label's weight (softmax is unchanged), so that
    /// with two labels every word has a positive weight for one label only, and with more the
    /// median label's weight becomes zero.
    mutating func center() {
        for j in 0..<F {
            let col = (0..<L).map { w[$0][j] }.sorted()
            let c = L == 2 ? col[0] : col[(L - 1) / 2]
            for l in 0..<L { w[l][j] -= c }
        }
        let bs = b.sorted()
        let c = L == 2 ? bs[0] : bs[(L - 1) / 2]
        for l in 0..<L { b[l] -= c }
    }

    mutating func train(rows: [[(Int, Double)]], y: [Int], mask: [[Bool]]?, options: Inducer.Options) {
        let N = rows.count, L = self.L, F = self.F
        // Flatten feature by feature: w[l][j] is W[j * L + l], so the labels of one feature are
        // contiguous and the loops over them vectorize. Each sum still adds its terms in the
        // same order as over w[l][j], so the weights come out the same to the last bit.
        var W = [Double](repeating: 0, count: L * F)
        for l in 0..<L { for j in 0..<F { W[j * L + l] = (mask?[l][j] ?? true) ? w[l][j] : 0 } }
        let M: [Bool] = mask.map { m in (0..<L * F).map { m[$0 % L][$0 / L] } } ?? [Bool](repeating: true, count: L * F)
        var B = b
        var mW = [Double](repeating: 0, count: L * F), vW = mW, gW = mW
        var mB = [Double](repeating: 0, count: L), vB = mB, gB = mB
        // The rows as one compressed sparse array (row i is start[i] ..< start[i + 1]), read
        // through pointers in the loops below: the same operations in the same order as over the
        // rows themselves, without an array per row to look through.
        var start = [Int](repeating: 0, count: N + 1)
        for (i, r) in rows.enumerated() { start[i + 1] = start[i] + r.count }
        let idx: [Int] = rows.flatMap { $0.map(\.0) }
        let val: [Double] = rows.flatMap { $0.map(\.1) }
        let beta1 = 0.9, beta2 = 0.999, eps = 1e-8, lr = options.learningRate, lam = options.l2
        let invN = 1.0 / Double(N)
        // Per label, the weight of its examples in the loss (1 unless `balanced`).
        var classWeight = [Double](repeating: 1, count: L)
        if options.balanced {
            var n = [Int](repeating: 0, count: L)
            for c in y { n[c] += 1 }
            for l in 0..<L where n[l] > 0 { classWeight[l] = Double(N) / Double(L * n[l]) }
        }
        var s = [Double](repeating: 0, count: L)
        W.withUnsafeMutableBufferPointer { W in
        gW.withUnsafeMutableBufferPointer { gW in
        mW.withUnsafeMutableBufferPointer { mW in
        vW.withUnsafeMutableBufferPointer { vW in
        s.withUnsafeMutableBufferPointer { s in
        idx.withUnsafeBufferPointer { idx in
        val.withUnsafeBufferPointer { val in
        start.withUnsafeBufferPointer { start in
        y.withUnsafeBufferPointer { y in
            for t in 1...max(1, options.iterations) {
                for k in 0..<(L * F) { gW[k] = lam * W[k] }
                for l in 0..<L { gB[l] = 0 }
                for i in 0..<N {
                    let q0 = start[i], q1 = start[i + 1]
                    for l in 0..<L { s[l] = B[l] }
                    let sp = s.baseAddress!
                    for q in q0..<q1 {
                        let row = W.baseAddress! + idx[q] &* L, x = val[q]
                        for l in 0..<L { sp[l] += row[l] * x }
                    }
                    var mx = -Double.infinity
                    for l in 0..<L where s[l] > mx { mx = s[l] }
                    var sum = 0.0
                    for l in 0..<L { s[l] = exp(s[l] - mx); sum += s[l] }
                    let yi = y[i]
                    let wi = classWeight[yi] * invN
                    for l in 0..<L {
                        let g = (s[l] / sum - (l == yi ? 1 : 0)) * wi
                        gB[l] += g
                        s[l] = g
                    }
                    for q in q0..<q1 {
                        let row = gW.baseAddress! + idx[q] &* L, x = val[q]
                        for l in 0..<L { row[l] += sp[l] * x }
                    }
                }
                let c1 = 1 - pow(beta1, Double(t)), c2 = 1 - pow(beta2, Double(t))
                for k in 0..<(L * F) where M[k] {
                    mW[k] = beta1 * mW[k] + (1 - beta1) * gW[k]
                    vW[k] = beta2 * vW[k] + (1 - beta2) * gW[k] * gW[k]
                    W[k] -= lr * (mW[k] / c1) / ((vW[k] / c2).squareRoot() + eps)
                }
                for l in 0..<L {
                    mB[l] = beta1 * mB[l] + (1 - beta1) * gB[l]
                    vB[l] = beta2 * vB[l] + (1 - beta2) * gB[l] * gB[l]
                    B[l] -= lr * (mB[l] / c1) / ((vB[l] / c2).squareRoot() + eps)
                }
            }
        }}}}}}}}}
        for l in 0..<L { for j in 0..<F { w[l][j] = W[j * L + l] } }
        b = B
    }
}

/// Writes the program text.
struct Emitter {
    let options: Inducer.Options
    let labels: [String]
    let bias: [Double]
    let tables: [[(word: [UInt8], weight: Double)]]
    /// With negation: per label, the words whose weight is added before a negator and taken after.
    let flips: [[(word: [UInt8], weight: Double)]]
    let extras: [[(name: String, weight: Double)]]
    let majority: Int
    let trainingSize: Int
    let vocabularySize: Int
    let wordsPerLabel: Int
    let vocabulary: InducedProgram.Vocabulary?
    /// How the L2 strength was chosen, for the header (nil: given).
    var l2Choice: String? = nil
    /// With `normalize`: every candidate word's idf, and the scale of the per-text factor.
    var idf: [(word: [UInt8], weight: Double)] = []
    var idfScale = 1.0

    func source(tests: [([UInt8], String)]) -> String {
        let f = Inducer.format
        let usesFlips = flips.contains { !$0.isEmpty }
        let usesWords = tables.contains { !$0.isEmpty } || usesFlips
        let usesStd = extras.contains { $0.contains { !$0.name.hasPrefix("#") } } || usesFlips
        var s = "// Induced offline by LoopInduce from \(trainingSize) labeled examples: multinomial logistic\n"
        s += "// regression (L2 \(f(options.l2))\(l2Choice.map { ", " + $0 } ?? "")) over whole-word counts of the lowercased text"
            + (options.normalize == true ? ",\n// each weighed by the word's rarity and divided by the text's total rarity (normalised tf-idf)," : "")
            + (options.naiveBayes == .scaled ? ",\n// each scaled by its Naive Bayes ratio (how much likelier it is in one label's examples)," : "")
            + (options.naiveBayes != .off ? (options.naiveBayes == .blend ? "," : "") + "\n// blended with multinomial Naive Bayes (word weights \(f(1 - options.naiveBayesMix)) × the regression's + \(f(options.naiveBayesMix)) × the log-count ratios)," : "")
        s += usesStd || options.lengthFeature ? " and a few std.text features.\n" : ".\n"
        s += "// \(vocabularySize) candidate words (in >= \(options.minDocumentFrequency) examples); at most \(wordsPerLabel) kept per label"
            + (vocabulary.map { v in v.chosen < v.wordsPerLabel.last! ? "\n// (as accurate as \(v.wordsPerLabel.last!) on \(v.measuredOn));\n" : " (no fewer as accurate on \(v.measuredOn));\n" } ?? ";\n")
        s += "// weights rounded to \(options.significantDigits) significant digits. Scores are log-odds: the label with the largest sum wins.\n"
        s += "program \(options.programName)\n  \(Formatter.quote(options.programDescription))\n\n"
        let input = options.inputName
        let msg = input == "msg" ? "msg_lower" : "msg"
        let names = options.labelNames.flatMap { $0.count == labels.count ? $0 : nil } ?? labels
        s += "input \(input): text\n" + Formatter.labelsDeclaration(zip(labels, names).map { Formatter.labelItem($0, $1 == $0 ? nil : $1) }) + "\n\n"
        if usesStd { s += "use std.text\n\n" }
        if usesWords { s += "let \(msg) = lower(\(input))\n\n" }
        let normalized = options.normalize == true && usesWords && !idf.isEmpty
        if normalized {
            s += "// How rare each candidate word is (inverse document frequency): a text's total says how much\n"
            s += "// word evidence it holds, and every label's word sum is divided by it.\n"
            let items = idf.map { Formatter.quote(String(decoding: $0.word, as: UTF8.self)) + ": " + f($0.weight) }
            s += "const word_idf = " + Formatter.wrapItems(items, open: "{", close: "}") + "\n\n"
            s += "let idf_total = sum_words(\(msg), word_idf)\n\n"
            s += "let per_idf = if idf_total > 0 then \(f(idfScale)) / idf_total else 0\n\n"
        }
        // The `loopai fmt` layout, so that the generated file, the formatted file and a diff agree.
        func table(_ name: String, _ t: [(word: [UInt8], weight: Double)]) -> String {
            let items = t.map { Formatter.quote(String(decoding: $0.word, as: UTF8.self)) + ": " + f($0.weight) }
            let flat = "const \(name) = {" + items.joined(separator: ", ") + "}"
            return (flat.count <= Formatter.width ? flat : "const \(name) = " + Formatter.wrapItems(items, open: "{", close: "}")) + "\n\n"
        }
        for l in labels.indices {
            if !tables[l].isEmpty {
                s += "// Words that count towards `\(labels[l])` (weight per whole-word occurrence"
                    + (options.negation ? ", negated or not).\n" : ").\n")
                s += table("\(labels[l])_words", tables[l])
            }
            if !flips[l].isEmpty {
                s += "// Words that count towards `\(labels[l])` in plain use and against it after a negator\n"
                s += "// such as \"not\" (\"not good\"): their weight is added, or taken when negated.\n"
                s += table("\(labels[l])_flips", flips[l])
            }
        }
        for l in labels.indices {
            s += "score \(labels[l]) {\n"
            var terms: [String] = []
            if bias[l] != 0 || (tables[l].isEmpty && flips[l].isEmpty && extras[l].isEmpty) { terms.append(f(bias[l])) }
            if !tables[l].isEmpty {
                let sum = "sum_words(\(msg), \(labels[l])_words)"
                terms.append(normalized ? "per_idf * " + sum : sum)
            }
            if !flips[l].isEmpty {
                let sum = "sum_words_negating(\(msg), \(labels[l])_flips)"
                terms.append(normalized ? "per_idf * " + sum : sum)
            }
            for e in extras[l] {
                if e.name == "#len" { terms.append("\(f(e.weight)) * min(len(\(input)), 400) / 100") }
                else { terms.append("\(f(e.weight)) when \(e.name)(\(input))") }
            }
            for t in terms { s += "  \(t)\n" }
            s += "}\n\n"
        }
        s += "otherwise => \(labels[majority])\n"
        if !tests.isEmpty {
            s += "\n// The hardest training examples the program gets right (lowest confidence).\n"
            for (t, l) in tests { s += "test \(Formatter.quote(String(decoding: t, as: UTF8.self))) => \(l)\n" }
        }
        return s
    }

    func check(_ source: String) throws -> TypedProgram {
        let file = SourceFile(name: "\(options.programName).loop", text: source)
        let (prog, diags) = Checker.checkSource(file, stdlib: .embedded)
        let bad = diags.filter { $0.severity == .error || $0.severity == .warning }
        guard let p = prog, bad.isEmpty else {
            throw InduceError.checkFailed(source: source, diagnostics: bad.map { "\($0.code): \($0.message)" }.joined(separator: "\n"))
        }
        return p
    }
}

extension Inducer {
    /// Reads labeled examples from a JSON Lines file: the text under `textKey`, the label under
    /// `labelKey`. Records without both are skipped.
    public static func loadJSONL(_ path: String, textKey: String = "text", labelKey: String = "label") throws -> [LabeledExample] {
        var out: [LabeledExample] = []
        for r in try RecordReader.read(path, format: .jsonl) {
            guard case .json(let j) = r.raw, case .string(let t)? = j[textKey],
                  let l = RecordDecoder.label(r.raw, column: labelKey) else { continue }
            out.append((t, l))
        }
        return out
    }

    /// A deterministic split: a seeded shuffle (SplitMix64), then the first `fraction` for training.
    public static func split<T>(_ examples: [T], trainFraction: Double, seed: UInt64 = 42) -> (train: [T], test: [T]) {
        let order = SplitMix64.shuffled(Array(examples.indices), seed: seed)
        let n = Int((Double(examples.count) * trainFraction).rounded())
        return (order.prefix(n).map { examples[$0] }, order.dropFirst(n).map { examples[$0] })
    }
}


extension InducedProgram.Vocabulary {
    /// The fewest words per label whose accuracy is at least that of the most.
    static func choose(caps: [Int], accuracy: [Double], measuredOn: String) -> Self {
        let full = accuracy.last!
        let chosen = caps[accuracy.firstIndex { $0 >= full }!]
        return .init(wordsPerLabel: caps, accuracy: accuracy, chosen: chosen, measuredOn: measuredOn)
    }
}
