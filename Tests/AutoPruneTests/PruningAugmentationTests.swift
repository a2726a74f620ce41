import AutoPrune
import AutoPruneNN
import XCTest

/// `prune`'s automatic shifts: on for a long pruning phase over images in memory, sized to the
/// image, never flips, and off for short phases, image folders and tiny images.
final class PruningAugmentationTests: XCTestCase {
  private func images(side: Int, channels: Int = 1, count: Int = 4) -> ImageDataset {
    ImageDataset(pixels: [UInt8](repeating: 7, count: count * channels * side * side), labels: (0..<count).map { $0 % 2 },
                 channels: channels, height: side, width: side, classes: 2)
  }

  /// Stands in for an image folder: batches made elsewhere (with their own random crops).
  private struct Decoded: LabelledImages {
    let base: ImageDataset
    var count: Int { base.count }
    var labels: [Int] { base.labels }
    var classes: Int { base.classes }
    var sampleShape: [Int] { base.sampleShape }
    var prefetches: Bool { true }
    func batch(_ indices: ArraySlice<Int>, normalization: Normalization, seed: UInt64) throws -> (images: Tensor, labels: [Int]) {
      try base.batch(indices, normalization: normalization, seed: seed)
    }
    func sample(limit: Int) throws -> ImageDataset { base }
  }

  func testLongPhasesShiftByAnEighthOfTheSideWithoutFlips() {
    let limit = PruningAugmentation.maximumUnshiftedEpochs
    XCTAssertEqual(PruningAugmentation.automatic(pruneEpochs: limit + 1, data: images(side: 28)), Augmentation(padding: 3, flip: false))
    XCTAssertEqual(PruningAugmentation.automatic(pruneEpochs: 300, data: images(side: 32, channels: 3)), Augmentation(padding: 4, flip: false))
    XCTAssertEqual(PruningAugmentation.automatic(pruneEpochs: 300, data: images(side: 8))?.padding, 1)
  }

  func testShortPhasesImageFoldersAndTinyImagesAreLeftAlone() {
    let limit = PruningAugmentation.maximumUnshiftedEpochs
    // 60,000 images at batch 100: the default 6,000 steps are 10 epochs.
    XCTAssertNil(PruningAugmentation.automatic(pruneEpochs: 10, data: images(side: 28)))
    XCTAssertNil(PruningAugmentation.automatic(pruneEpochs: limit, data: images(side: 28)))
    XCTAssertNil(PruningAugmentation.automatic(pruneEpochs: 300, data: Decoded(base: images(side: 28))))
    XCTAssertNil(PruningAugmentation.automatic(pruneEpochs: 300, data: images(side: 7)))
  }

  func testTheDescriptionRunSummariesRecord() {
    XCTAssertEqual(Augmentation(padding: 3, flip: false).description, "shifts ±3 px")
    XCTAssertEqual(Augmentation().description, "shifts ±4 px, flips")
    XCTAssertEqual(Augmentation(padding: 0, flip: true).description, "flips")
  }
}
