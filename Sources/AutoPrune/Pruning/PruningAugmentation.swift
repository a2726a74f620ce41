import AutoPruneNN

/// The `prune` command's default augmentation: small random shifts of the images, and only when
/// the pruning phase would otherwise pass over the same images so often that the network learns
/// them by heart.
///
/// Why: the phase clock's default phases are counted in steps (6,000 + 3,000), so a small data
/// set gets many epochs (300 + 150 on 2,000 images). There the training loss falls to ~0.001:
/// test accuracy drifts down with nothing pruned yet (LeNet-5, bundled subset: 85.6% → 84.0% in
/// 140 epochs), every gate's data term vanishes at once, and the gates close in a wave that costs
/// what fine-tuning cannot give back. Shifted copies keep the loss informative (≈ 0.2 there), so
/// the gates close in the order of their importance (docs/pruning.md, "Shifted images when the phase is long").
///
/// Shifts only, no flips: a mirrored digit or letter is another symbol. Image folders are left
/// alone: their training batches are random crops already.
public enum PruningAugmentation {
  /// Pruning epochs above which the images are shifted (10 on 60,000 images at the default
  /// batch: no shifts; 75 on 8,000 and 300 on 2,000: shifts).
  public static let maximumUnshiftedEpochs = 20

  /// The augmentation for a pruning phase of `pruneEpochs` epochs over `data`, or nil when none
  /// is needed (a short phase, an image folder, images under 8 pixels).
  public static func automatic(pruneEpochs: Int, data: any LabelledImages) -> Augmentation? {
    guard pruneEpochs > maximumUnshiftedEpochs, data is ImageDataset, data.sampleShape.count == 3 else { return nil }
    let side = min(data.sampleShape[1], data.sampleShape[2])
    guard side >= 8 else { return nil }
    // An eighth of the side: 3 pixels of a 28-pixel digit (MNIST centres its digits in 20 × 20,
    // so a shift keeps them whole), 4 of a 32-pixel CIFAR image (He et al.'s padding).
    return Augmentation(padding: side / 8, flip: false)
  }
}
