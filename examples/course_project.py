"""Face recognition with Keras, the deep-learning course project, end to end.

Title: Who is in this photo? Training a face classifier on LFW
Needs: ``pip install 'facerec[train]'`` and a folder with one sub-folder of photos per person (LFW's ``images/``
folder is one).

We will:

1. turn a folder-per-person photo collection into aligned face chips (facerec detects and aligns every face);
2. split the photos per person into train / validation / test, reproducibly;
3. train the course's small ConvNet from scratch, watch it over-fit, and regularise it;
4. do transfer learning: dlib's face ResNet as a frozen base with a new head, then fine-tune its top layers;
5. compare with a classic classifier on face embeddings;
6. name the faces in new photos, answering "unknown" when the model is unsure.

Run it (a few minutes on a laptop CPU with the defaults: 10 people, 64 px chips)::

    python examples/course_project.py --data ../shared/data/lfw/images --output build/course_project

Everything it writes (models, learning curves, metrics) goes to ``--output``. The command ``facerec train`` does
steps 1-5 in one line; this script shows the steps.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = Path(os.environ.get("FACEREC_SHARED_DATA", ROOT.parent / "shared" / "data")) / "lfw" / "images"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the course project, end to end")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="one sub-folder of photos per person")
    parser.add_argument("--output", type=Path, default=ROOT / "build" / "course_project")
    parser.add_argument("--min-images", type=int, default=20, help="people with at least this many photos")
    parser.add_argument("--max-people", type=int, default=10, help="the first N of them (by name)")
    parser.add_argument("--image-size", type=int, default=64, help="chip size for the ConvNet")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--threads", type=int, default=2, help="TensorFlow threads")
    args = parser.parse_args(argv)
    out = args.output
    out.mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------------------------------------------------------
    # 0. Setup. Keras picks its backend from KERAS_BACKEND (TensorFlow by default). Pin the threads first:
    #    TensorFlow reads the setting once, before its first operation.
    # ------------------------------------------------------------------------------------------------------------
    from facerec.training import configure_threads

    configure_threads(args.threads)
    import keras

    from facerec.training import (
        ChipSettings,
        build_convnet,
        load_face_dataset,
        load_or_create_split,
        plots,
    )

    keras.utils.set_random_seed(0)

    # ------------------------------------------------------------------------------------------------------------
    # 1. Faces, not photos. A classifier learns faster from aligned faces: facerec finds each face (HOG detector),
    #    puts its eyes and nose on fixed points (5-point landmarks) and cuts a square chip. Photos with no face or
    #    with several faces are reported and left out -- we would not know which face carries the label.
    #    The chips are cached, so the second run starts at once.
    # ------------------------------------------------------------------------------------------------------------
    settings = ChipSettings(size=args.image_size, padding=0.25)
    dataset = load_face_dataset(args.data, settings, min_images_per_person=args.min_images,
                                max_people=args.max_people, workers=2)
    print(f"{len(dataset)} faces of {dataset.num_classes} people; {len(dataset.skipped)} photos skipped")
    for skipped in dataset.skipped[:5]:
        print(f"  skipped {skipped.path}: {skipped.reason}")
    print("faces per person:", dataset.counts())

    # ------------------------------------------------------------------------------------------------------------
    # 2. A fair test. 30% of each person's photos are held out for the final test (stratified: every person is in
    #    both parts), and 15% of the rest for validation, which early stopping watches. The split is saved: run the
    #    script again and it re-uses the same photos, so numbers are comparable across runs.
    # ------------------------------------------------------------------------------------------------------------
    split, reused = load_or_create_split(out / "split.json", dataset, test_size=0.3, validation_size=0.15, seed=0)
    train_set, val_set, test_set = (dataset.subset(part) for part in (split.train, split.validation, split.test))
    print(f"split ({'re-used' if reused else 'new'}): {len(train_set)} train, {len(val_set)} validation, "
          f"{len(test_set)} test")
    num_classes = dataset.num_classes
    x_train, x_val, x_test = (part.images.astype("float32") for part in (train_set, val_set, test_set))
    # one-hot labels for categorical cross-entropy (with two people we would use one sigmoid unit instead)
    y_train, y_val, y_test = (keras.utils.to_categorical(part.labels, num_classes)
                              for part in (train_set, val_set, test_set))

    # ------------------------------------------------------------------------------------------------------------
    # 3a. The course's ConvNet, no regularisation. The pixels are rescaled to 0..1 inside the model (its first
    #     layer), so a saved model takes raw chips. Watch the learning curve: training accuracy climbs towards 1
    #     while validation loss turns up -- over-fitting.
    # ------------------------------------------------------------------------------------------------------------
    input_shape = (args.image_size, args.image_size, 3)
    plain = build_convnet(input_shape, num_classes)
    plain.compile(optimizer=keras.optimizers.Adam(5e-4), loss="categorical_crossentropy", metrics=["accuracy"])
    plain.summary()
    history = plain.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=args.epochs, batch_size=32,
                        verbose=2)
    plots.plot_history(history.history, out / "convnet_plain.png", title="ConvNet, no regularisation")
    plain_accuracy = plain.evaluate(x_test, y_test, verbose=0)[1]

    # ------------------------------------------------------------------------------------------------------------
    # 3b. The same network, regularised: an L2 penalty on the dense weights, dropout before the classifier, random
    #     flips / rotations / zooms / brightness changes while training (augmentation layers do nothing at test
    #     time), and early stopping that keeps the weights of the best validation epoch.
    # ------------------------------------------------------------------------------------------------------------
    keras.backend.clear_session()
    regular = build_convnet(input_shape, num_classes, l2=1e-3, dropout_rate=0.5, augment=True, seed=0)
    regular.compile(optimizer=keras.optimizers.Adam(5e-4), loss="categorical_crossentropy", metrics=["accuracy"])
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)
    history = regular.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=args.epochs * 2, batch_size=32,
                          callbacks=[stop], verbose=2)
    plots.plot_history(history.history, out / "convnet_regularised.png", title="ConvNet, regularised")
    regular_accuracy = regular.evaluate(x_test, y_test, verbose=0)[1]
    regular.save(out / "convnet_regularised.keras")

    # ------------------------------------------------------------------------------------------------------------
    # 4. Transfer learning with a network that already knows faces: dlib's face ResNet, trained on millions of
    #    faces, rebuilt in Keras with its weights (150 px chips). Stage 1 freezes it -- called with
    #    training=False -- and trains only a new head. Stage 2 un-freezes its top layers (normalisation layers stay
    #    frozen), recompiles at a 100x lower learning rate and continues: the keras-io transfer-learning recipe.
    #    `facerec train -m resnet-face --fine-tune-top 20` runs exactly this; here we use its run folder.
    # ------------------------------------------------------------------------------------------------------------
    from facerec.training import TrainConfig, train

    keras.backend.clear_session()
    common = {"min_images_per_person": args.min_images, "max_people": args.max_people, "seed": 0}
    resnet = train(args.data, out / "resnet-face", TrainConfig(
        model="resnet-face", epochs=max(args.epochs // 2, 3), learning_rate=1e-3, patience=3,
        fine_tune_top=20, fine_tune_learning_rate=1e-5, fine_tune_epochs=3, **common),
        split_file=out / "split.json", workers=2, log=print, verbose=2)

    # ------------------------------------------------------------------------------------------------------------
    # 5. The classic baseline: dlib's 128-d face embeddings and a linear SVM. No GPU, no epochs -- and hard to beat,
    #    because the embedding network was trained for exactly this.
    # ------------------------------------------------------------------------------------------------------------
    svm = train(args.data, out / "embedding-svm", TrainConfig(model="embedding-svm", **common),
                split_file=out / "split.json", log=print)

    summary = {"convnet (plain)": plain_accuracy, "convnet (regularised)": regular_accuracy,
               "resnet-face (frozen + fine-tuned)": resnet.test_accuracy, "embedding-svm": svm.test_accuracy}
    print("\ntest accuracy on the same held-out photos:")
    for name, accuracy in summary.items():
        print(f"  {name:<36} {accuracy:.3f}")
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")

    # ------------------------------------------------------------------------------------------------------------
    # 6. New photos. Every face is detected, aligned and classified; a face whose best probability is below the
    #    threshold is called "unknown" (higher is stricter). Same as `facerec predict --model RUN_DIR PHOTOS`.
    # ------------------------------------------------------------------------------------------------------------
    from facerec.training import load_run

    model = load_run(out / "resnet-face")
    photos = [args.data / path for path in split.test[:3]]
    for face in model.predict_photo(photos[0], threshold=0.5) + model.predict_photo(photos[1], threshold=0.5):
        print(f"{face.path}: {face.label} (p={face.probability:.2f}; best guess {face.best})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
