import Foundation
import LoopSema

/// A set of units (Unicode scalars, plus `TextSemantics.invalidBase + byte` for invalid bytes)
/// as sorted, disjoint, non-adjacent closed ranges. The automata are built over these.
struct UnitSet: Hashable {
    static let maxUnit: UInt32 = TextSemantics.invalidBase + 0xFF
    var ranges: [ClosedRange<UInt32>]

    init(_ ranges: [ClosedRange<UInt32>]) { self.ranges = UnitSet.normalize(ranges) }
    static let all = UnitSet([0...maxUnit])
    static let empty = UnitSet([])
    static func single(_ c: UInt32) -> UnitSet { UnitSet([c...c]) }

    static func normalize(_ rs: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
        let sorted = rs.sorted { $0.lowerBound < $1.lowerBound }
        var out: [ClosedRange<UInt32>] = []
        for r in sorted {
            if let last = out.last, r.lowerBound <= last.upperBound &+ 1 {
                out[out.count - 1] = last.lowerBound...max(last.upperBound, r.upperBound)
            } else { out.append(r) }
        }
        return out
    }

    func contains(_ c: UInt32) -> Bool {
        var lo = 0, hi = ranges.count - 1
        while lo <= hi {
            let mid = (lo + hi) / 2
            if ranges[mid].upperBound < c { lo = mid + 1 } else if ranges[mid].lowerBound > c { hi = mid - 1 } else { return true }
        }
        return false
    }

    var complement: UnitSet {
        var out: [ClosedRange<UInt32>] = []
        var next: UInt32 = 0
        for r in ranges {
            if r.lowerBound > next { out.append(next...(r.lowerBound - 1)) }
            next = r.upperBound &+ 1
            if r.upperBound == UnitSet.maxUnit { return UnitSet(out) }
        }
        if next <= UnitSet.maxUnit { out.append(next...UnitSet.maxUnit) }
        return UnitSet(out)
    }

    func union(_ o: UnitSet) -> UnitSet { UnitSet(ranges + o.ranges) }

    /// Below this every case mapping lives; above it `lower` and `upper` are the identity.
    static let caseLimit: UInt32 = 0x500

    /// Units whose image under `map` lies in this set.
    func preimage(_ map: CaseMap) -> UnitSet { map.preimage(of: self) }

    /// The set a regex class accepts, exactly as `CharClass.matches` decides.
    init(_ cc: CharClass) {
        var base: [ClosedRange<UInt32>] = []
        for it in cc.items {
            switch it {
            case .range(let lo, let hi): base.append(lo...hi)
            case .digit: base.append(0x30...0x39)
            case .notDigit: base += UnitSet([0x30...0x39]).complement.ranges
            case .word: base += UnitSet.word.ranges
            case .notWord: base += UnitSet.word.complement.ranges
            case .space: base += [0x09...0x0D, 0x20...0x20]
            case .notSpace: base += UnitSet([0x09...0x0D, 0x20...0x20]).complement.ranges
            }
        }
        var hit = UnitSet(base)
        if cc.caseInsensitive {
            let items = hit
            hit = items.union(items.preimage(.lower)).union(items.preimage(.upper))
        }
        self = cc.negated ? hit.complement : hit
    }

    /// Word characters (TextSemantics.isWord), as ranges.
    static let word: UnitSet = {
        var rs: [ClosedRange<UInt32>] = [0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A,
                                         0xC0...0xD6, 0xD8...0xF6, 0xF8...0x24F, 0x370...0x37D, 0x37F...0x386, 0x388...0x52F,
                                         0x590...0x6FF, 0x900...0xE7F, 0x1E00...0x1FFF, 0x3040...0x30FF, 0x3400...0x9FFF, 0xAC00...0xD7AF]
        rs.sort { $0.lowerBound < $1.lowerBound }
        return UnitSet(rs)
    }()
}

/// A case mapping read on the way to a predicate (`lower(x)`, `upper(x)`), with its image table
/// below `UnitSet.caseLimit` and a memo of the preimages already asked for: a thousand keywords
/// ask for the same few dozen letters.
final class CaseMap: @unchecked Sendable {
    static let lower = CaseMap(TextSemantics.lower)
    static let upper = CaseMap(TextSemantics.upper)

    private let image: [UInt32]
    private var memo: [UnitSet: UnitSet] = [:]
    private let lock = NSLock()

    private init(_ map: (UInt32) -> UInt32) {
        image = (0..<UnitSet.caseLimit).map(map)
    }

    func preimage(of set: UnitSet) -> UnitSet {
        lock.lock(); defer { lock.unlock() }
        if let hit = memo[set] { return hit }
        var rs: [ClosedRange<UInt32>] = []
        for r in set.ranges where r.upperBound >= UnitSet.caseLimit { rs.append(max(r.lowerBound, UnitSet.caseLimit)...r.upperBound) }
        for (c, m) in image.enumerated() where set.contains(m) { rs.append(UInt32(c)...UInt32(c)) }
        let result = UnitSet(rs)
        memo[set] = result
        return result
    }
}
