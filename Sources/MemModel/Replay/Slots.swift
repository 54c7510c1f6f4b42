/// Elements in stable slots of one flat array: a removed element's slot is
/// taken by the next insertion (last freed, first reused), so a slot names
/// its element for the element's whole life and linked structures (the page
/// cache's lists, a cache's slab lists, the process table) link by `Int32`
/// slot instead of by reference.
struct Slots<Element: Sendable>: Sendable {
    private(set) var elements: [Element] = []
    private(set) var freeSlots: [Int32] = []

    /// Slots ever used, free ones included.
    var endIndex: Int { elements.count }
    var indices: Range<Int> { elements.indices }

    @inline(__always)
    subscript(slot: Int) -> Element {
        get { elements[slot] }
        _modify { yield &elements[slot] }
    }

    /// Puts `element` in a free slot, or a new one; its slot.
    @inline(__always)
    mutating func insert(_ element: Element) -> Int32 {
        if let reused = freeSlots.popLast() {
            elements[Int(reused)] = element
            return reused
        }
        elements.append(element)
        return Int32(elements.count - 1)
    }

    /// Frees `slot`; its element stays readable until the slot is reused.
    @inline(__always)
    mutating func remove(_ slot: Int32) { freeSlots.append(slot) }
}
