// photo: the benchmark's large JPEG (docs/performance.md, targets l and m), made with libvips.
//
// A smooth picture like scripts/demo_image.cpp makes (`make run`'s demo) compresses to a few
// hundred kilobytes at 24 megapixels, and decoding it costs little more than its pixels; a
// camera's JPEG of the same size holds 8-12 MB of detail, and the entropy decoding of those
// bytes is a good part of a thumbnail's cost even with shrink-on-load. So this one adds
// Gaussian noise (independent per band) to a gradient with a few discs, and saves with 4:2:0
// chroma subsampling at quality 90, like a camera. The same arguments always make the same file.
//   photo OUT.jpg WIDTH HEIGHT [NOISE_SIGMA]   (sigma default 24: about 11 MB at 6000x4000)
#include <cstdio>
#include <cstdlib>
#include <vips/vips.h>

namespace {

int fail() {
    std::fprintf(stderr, "photo: %s\n", vips_error_buffer());
    return 1;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 4 || VIPS_INIT(argv[0]) != 0) {
        std::fprintf(stderr, "usage: photo OUT.jpg WIDTH HEIGHT [NOISE_SIGMA]\n");
        return 2;
    }
    const int width = std::atoi(argv[2]);
    const int height = std::atoi(argv[3]);
    const double sigma = argc > 4 ? std::atof(argv[4]) : 24.0;
    if (width < 16 || height < 16 || sigma < 0) {
        std::fprintf(stderr, "photo: WIDTH and HEIGHT must be at least 16, NOISE_SIGMA >= 0\n");
        return 2;
    }
    // Objects are never unreferenced: the process ends right after saving.
    VipsImage *xy = nullptr, *x = nullptr, *y = nullptr;
    if (vips_xyz(&xy, width, height, nullptr) != 0 || vips_extract_band(xy, &x, 0, nullptr) != 0 ||
        vips_extract_band(xy, &y, 1, nullptr) != 0)
        return fail();
    // Red follows x, green y, blue their product; then noise of its own in each band.
    VipsImage *r = nullptr, *g = nullptr, *xyp = nullptr, *b = nullptr;
    if (vips_linear1(x, &r, 200.0 / width, 28, nullptr) != 0 ||
        vips_linear1(y, &g, 200.0 / height, 28, nullptr) != 0 ||
        vips_multiply(x, y, &xyp, nullptr) != 0 ||
        vips_linear1(xyp, &b, 160.0 / (double(width) * height), 60, nullptr) != 0)
        return fail();
    VipsImage* plain[3] = {r, g, b};
    VipsImage* noisy[3] = {};
    for (int i = 0; i < 3; ++i) {
        VipsImage* noise = nullptr;
        // A different seed per band: colour noise, not grey.
        if (vips_gaussnoise(&noise, width, height, "sigma", sigma, "mean", 0.0, "seed", 17 + i,
                            nullptr) != 0 ||
            vips_add(plain[i], noise, &noisy[i], nullptr) != 0)
            return fail();
    }
    VipsImage *rgb = nullptr, *out = nullptr;
    if (vips_bandjoin(noisy, &rgb, 3, nullptr) != 0 || vips_cast_uchar(rgb, &out, nullptr) != 0)
        return fail();
    for (int i = 0; i < 5; ++i) {
        double ink[3] = {240, 240, 230};
        vips_draw_circle(out, ink, 3, width / 6 * (i + 1), height / 2, height / (8 + 2 * i), "fill",
                         i % 2 == 0, nullptr);
    }
    if (vips_jpegsave(out, argv[1], "Q", 90, "subsample_mode", VIPS_FOREIGN_SUBSAMPLE_ON,
                      nullptr) != 0)
        return fail();
    return 0;
}
