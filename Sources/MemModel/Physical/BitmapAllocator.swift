/// First-fit allocation straight from the bitmap.
///
/// Single frames come from the lowest free frame; `searchWord` remembers the
/// lowest word that can hold one so a long run of full words is not scanned
/// again on every call.
public struct BitmapAllocator: FrameAllocator {
    public static let kind = FrameAllocatorKind.bitmap
    public private(set) var bitmap: FrameBitmap
    public private(set) var freeCount: Int
    private var searchWord = 0

    public init(frames: Int, reserved: Int) {
        bitmap = FrameBitmap(frames: frames, reserved: reserved)
        freeCount = frames - reserved
        searchWord = reserved >> 6
    }

    public mutating func allocate(count: Int) -> FrameNumber? {
        guard count <= freeCount else { return nil }
        if count == 1 {
            guard let f = bitmap.firstFree(fromWord: searchWord) else { return nil }
            searchWord = f >> 6
            bitmap.setUsed(f)
            freeCount -= 1
            return FrameNumber(f)
        }
        guard let f = bitmap.firstFit(count: count, fromWord: searchWord) else { return nil }
        bitmap.setUsed(f, count: count)
        freeCount -= count
        return FrameNumber(f)
    }

    public mutating func free(_ base: FrameNumber, count: Int) {
        bitmap.setFree(Int(base), count: count)
        freeCount += count
        searchWord = min(searchWord, Int(base) >> 6)
    }

    public func invariantViolation() -> String? {
        let counted = bitmap.freeCount
        if counted != freeCount { return "bitmap allocator: free count \(freeCount) but the bitmap has \(counted) free frames" }
        if let f = bitmap.firstFree(fromWord: 0), f >> 6 < searchWord {
            return "bitmap allocator: search hint word \(searchWord) skips free frame \(f)"
        }
        return nil
    }
}
