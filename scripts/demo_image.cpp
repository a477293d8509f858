// `make run`'s demo store: a photo-like JPEG, made here with libvips (a colour gradient with
// a few circles), so that the demo needs no download and shows what thumbnails do.
//   demo_image OUT.jpg [WIDTH HEIGHT]
#include <cstdio>
#include <cstdlib>
#include <vips/vips.h>

int main(int argc, char** argv) {
    if (argc < 2 || VIPS_INIT(argv[0]) != 0) {
        std::fprintf(stderr, "usage: demo_image OUT.jpg [WIDTH HEIGHT]\n");
        return 2;
    }
    const int width = argc > 3 ? std::atoi(argv[2]) : 1600;
    const int height = argc > 3 ? std::atoi(argv[3]) : 1000;
    VipsImage* xy = nullptr;
    VipsImage* x = nullptr;
    VipsImage* y = nullptr;
    if (vips_xyz(&xy, width, height, nullptr) != 0 || vips_extract_band(xy, &x, 0, nullptr) != 0 ||
        vips_extract_band(xy, &y, 1, nullptr) != 0)
        return 1;
    // Red follows x, green y, blue their product: a soft four-corner gradient.
    VipsImage *r = nullptr, *g = nullptr, *xyp = nullptr, *b = nullptr, *rgb = nullptr,
              *out = nullptr;
    vips_linear1(x, &r, 255.0 / width, 0, nullptr);
    vips_linear1(y, &g, 255.0 / height, 0, nullptr);
    vips_multiply(x, y, &xyp, nullptr);
    vips_linear1(xyp, &b, 255.0 / (double(width) * height), 40, nullptr);
    VipsImage* bands[3] = {r, g, b};
    if (vips_bandjoin(bands, &rgb, 3, nullptr) != 0 || vips_cast_uchar(rgb, &out, nullptr) != 0)
        return 1;
    for (int i = 0; i < 5; ++i) {
        double ink[3] = {255, 255, 255};
        vips_draw_circle(out, ink, 3, width / 6 * (i + 1), height / 2, height / (8 + 2 * i),
                         "fill", i % 2 == 0, nullptr);
    }
    if (vips_jpegsave(out, argv[1], "Q", 85, nullptr) != 0) {
        std::fprintf(stderr, "%s\n", vips_error_buffer());
        return 1;
    }
    return 0;
}
