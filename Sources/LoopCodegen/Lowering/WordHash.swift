import Foundation

/// A shared word scan's keys looked up by hashing instead of an automaton. Every key of a
/// `sum_words` table is a whole word of word units only, so an occurrence is exactly a maximal run
/// of word units; when each unit of every key reads as one class of the scan's class map (the
/// unit's case-mapped preimage is one class), a run is a key exactly when its sequence of classes
/// is the key's. The scan then hashes each run's classes as it reads them (FNV-1a over the class
/// numbers) and, where the run ends, looks the hash up in an open-addressing table and compares
/// the classes: a few operations per byte and one lookup per word, instead of a chain of loads
/// through a transition table that may not fit the cache (BANKING77's: 4,282 states × 35
/// classes). Programs whose keys do not qualify, or whose scan keeps negation state, keep the
/// automaton.
struct WordHash: Equatable {
    /// Per key (in key order), its classes; nil when the key can never occur (a unit no text
    /// unit maps to, such as an upper-case letter in a table read through `lower`).
    let classes: [[UInt8]?]
    /// The longest key, in units: a longer run is no key.
    let maxLength: Int
    /// Per class: whether it holds word units.
    let isWord: [Bool]
    /// The open-addressing table: per slot, a key index or −1 (size a power of two, at most
    /// half full; the first key of equal class sequences is the one found, as the automaton's
    /// lowest id wins).
    let slots: [Int32]
    /// Per key, the hash of its classes.
    let hashes: [UInt64]

    static let seed: UInt64 = 0xcbf2_9ce4_8422_2325
    static let prime: UInt64 = 0x0000_0100_0000_01b3
    @inline(__always) static func step(_ h: UInt64, _ c: UInt8) -> UInt64 { (h ^ UInt64(c)) &* prime }
    @inline(__always) static func slot(_ h: UInt64, mask: UInt64) -> UInt64 { (h ^ (h >> 32)) & mask }
    static func hash(_ cs: [UInt8]) -> UInt64 { cs.reduce(seed, step) }

    static let longestKey = 256

    /// Nil unless every key is a whole word (`notWordBefore`, units, `notWordAfter`) whose every
    /// unit set is exactly one word class, with at most 255 classes and keys of at most 256 units.
    init?(keys: [Pattern], classMap cm: ClassMap) {
        guard cm.count <= 255, !keys.isEmpty else { return nil }
        var classes: [[UInt8]?] = []
        for key in keys {
            guard case .concat(let parts) = key, parts.count == 3, parts[0] == .assert(.notWordBefore), parts[2] == .assert(.notWordAfter),
                  case .concat(let units) = parts[1], !units.isEmpty, units.count <= WordHash.longestKey else { return nil }
            var cs: [UInt8]? = []
            for u in units {
                guard case .set(let set) = u, let row = cm.rows[set] else { return nil }
                let members = cm.membership[row].indices.filter { cm.membership[row][$0] }
                if members.isEmpty { cs = nil; continue }          // no unit reads as this one
                guard members.count == 1, cm.isWord[members[0]] else { return nil }
                cs?.append(UInt8(members[0]))
            }
            classes.append(cs)
        }
        self.classes = classes
        maxLength = classes.compactMap { $0?.count }.max() ?? 0
        isWord = cm.isWord
        hashes = classes.map { $0.map(WordHash.hash) ?? 0 }
        var size = 16
        while size < 2 * keys.count { size *= 2 }
        var slots = [Int32](repeating: -1, count: size)
        var seen = Set<[UInt8]>()
        for (k, cs) in classes.enumerated() {
            guard let cs, seen.insert(cs).inserted else { continue }
            var s = Int(WordHash.slot(hashes[k], mask: UInt64(size - 1)))
            while slots[s] >= 0 { s = (s + 1) & (size - 1) }
            slots[s] = Int32(k)
        }
        self.slots = slots
    }

    /// The key a run of classes is (its index), as the compiled scan finds it.
    func lookup(_ run: [UInt8]) -> Int? {
        guard run.count <= maxLength else { return nil }
        let h = WordHash.hash(run), mask = UInt64(slots.count - 1)
        var s = Int(WordHash.slot(h, mask: mask))
        while slots[s] >= 0 {
            let k = Int(slots[s])
            if hashes[k] == h && classes[k] == run { return k }
            s = (s + 1) & Int(mask)
        }
        return nil
    }
}
