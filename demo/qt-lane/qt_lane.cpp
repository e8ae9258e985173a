// The bench's Qt lane: each scenario's frames painted through QWidget::repaint and
// Qt's own xcb backing store (QXcbBackingStore), on the bench's X server.
//
// Built by `xbs-demo bench` with `g++ $(pkg-config --cflags --libs Qt6Widgets xcb)`
// (Debian: qt6-base-dev, g++, pkg-config). Driven over stdin/stdout, a line each:
//
//   start:   qt_lane WIDTH HEIGHT          -> "ready WINDOW"
//   raise                                  -> "ok"
//   round WORK PAINT FIRST COUNT           -> "done X Y PIXEL"
//   quit
//
// WORK is full, damage16, scroll, expose or storm; PAINT is pattern or fill. A round
// paints frames FIRST..FIRST+COUNT exactly as the bench's other contenders do (the
// same rects, the same per-pixel pattern or solid fill), then makes a round trip, so
// the bench's wall time around it covers the server's work too, and reads back the
// pixel at (X, Y) of the last frame's damage: proof that the frames reached the
// server. QT_XCB_NO_MITSHM=1 (set by the bench for the wire scenarios) makes Qt's
// backing store use PutImage.

#include <QAbstractNativeEventFilter>
#include <QApplication>
#include <QPaintEngine>
#include <QPaintEvent>
#include <QPainter>
#include <QRegion>
#include <QWidget>
#include <QWindow>
#include <QtGui/qguiapplication_platform.h>

#include <xcb/xcb.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

enum class Paint { Pattern, Fill };

// The bench's paint_row: one pixel of the pattern of frame n.
uint32_t pattern(uint32_t x, uint32_t y, uint32_t n) {
    uint32_t g = (y + n) & 0xff;
    return (((x + n * 3) & 0xff) << 16) | (g << 8) | ((x ^ y) & 0xff);
}

// The bench's fill_pixel: the solid colour of frame n.
uint32_t fill(uint32_t n) {
    return (((n * 37) & 0xff) << 16) | (((n * 91) & 0xff) << 8) | ((n * 53 + 1) & 0xff);
}

// The bench's damage(): the rects frame n of `work` paints on a w x h window.
std::vector<QRect> damage(const std::string &work, uint32_t n, int w, int h) {
    std::vector<QRect> out;
    if (work == "damage16") {
        for (uint32_t i = 0; i < 16; i++) {
            int x = (i * 113 + n * 7) % uint32_t(w - 64);
            int y = (i * 71 + n * 5) % uint32_t(h - 64);
            out.emplace_back(x, y, 64, 64);
        }
    } else if (work == "scroll") {
        out.emplace_back(0, h - 40, w, 40);
    } else {
        out.emplace_back(0, 0, w, h);
    }
    return out;
}

// The bench's storm_size.
QSize storm_size(uint32_t n, int w, int h) {
    if (n % 2 == 0)
        return QSize(200 + (n * 37) % 200, 200 + (n * 53) % 200);
    return QSize(w - (n * 29) % 300, h - (n * 31) % 200);
}

class Canvas : public QWidget {
public:
    Paint paint = Paint::Pattern;
    uint32_t frame = 0;

    Canvas() {
        // Every paint covers its whole region: no background erase first.
        setAttribute(Qt::WA_OpaquePaintEvent);
        setAttribute(Qt::WA_NoSystemBackground);
    }

protected:
    void paintEvent(QPaintEvent *e) override {
        QPainter p(this);
        if (paint == Paint::Fill) {
            const QColor c = QColor::fromRgb(fill(frame));
            for (const QRect &r : e->region())
                p.fillRect(r, c);
            return;
        }
        // Per pixel, into the backing store's own image, as a rasteriser would.
        QPaintDevice *device = p.paintEngine()->paintDevice();
        if (device->devType() != QInternal::Image) {
            fprintf(stderr, "qt_lane: the backing store paints no QImage\n");
            exit(1);
        }
        auto *image = static_cast<QImage *>(device);
        const QPoint at = p.deviceTransform().map(QPoint(0, 0));
        // Locals, so the compiler knows the row's stores change none of them and
        // vectorises the loop as rustc does the bench's paint_row.
        const uint32_t n = frame;
        uchar *const bits = image->bits();
        const qsizetype stride = image->bytesPerLine();
        for (const QRect &r : e->region()) {
            const int x0 = r.left(), x1 = r.right() + 1;
            for (int y = r.top(); y <= r.bottom(); y++) {
                auto *row = reinterpret_cast<uint32_t *>(bits + (y + at.y()) * stride) + at.x();
                for (int x = x0; x < x1; x++)
                    row[x] = pattern(uint32_t(x), uint32_t(y), n);
            }
        }
    }
};

// Sees the Expose events Qt reads, so a round knows when one has been handled.
class ExposeWatch : public QAbstractNativeEventFilter {
public:
    int seen = 0;
    bool nativeEventFilter(const QByteArray &type, void *message, qintptr *) override {
        if (type == "xcb_generic_event_t") {
            auto *ev = static_cast<xcb_generic_event_t *>(message);
            if ((ev->response_type & 0x7f) == XCB_EXPOSE)
                seen++;
        }
        return false;
    }
};

void sync(xcb_connection_t *c) {
    free(xcb_get_input_focus_reply(c, xcb_get_input_focus(c), nullptr));
}

uint32_t read_pixel(xcb_connection_t *c, xcb_window_t w, int x, int y) {
    auto *reply = xcb_get_image_reply(
        c, xcb_get_image(c, XCB_IMAGE_FORMAT_Z_PIXMAP, w, x, y, 1, 1, ~0u), nullptr);
    uint32_t px = 0;
    if (reply && xcb_get_image_data_length(reply) >= 4)
        memcpy(&px, xcb_get_image_data(reply), 4);
    free(reply);
    return px & 0xffffff;
}

} // namespace

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: qt_lane WIDTH HEIGHT\n");
        return 2;
    }
    const int width = atoi(argv[1]), height = atoi(argv[2]);
    qputenv("QT_QPA_PLATFORM", "xcb");
    // One device pixel a pixel, whatever the screen's DPI says.
    qputenv("QT_SCALE_FACTOR", "1");
    qputenv("QT_ENABLE_HIGHDPI_SCALING", "0");
    QApplication app(argc, argv);
    auto *x11 = app.nativeInterface<QNativeInterface::QX11Application>();
    if (!x11) {
        fprintf(stderr, "qt_lane: not on xcb\n");
        return 1;
    }
    xcb_connection_t *conn = x11->connection();
    ExposeWatch watch;
    app.installNativeEventFilter(&watch);

    Canvas canvas;
    canvas.setWindowTitle("xbs bench: Qt");
    canvas.resize(width, height);
    canvas.show();
    // Shown and painted once before measuring, as the other contenders' windows are.
    while (!canvas.windowHandle() || !canvas.windowHandle()->isExposed())
        app.processEvents(QEventLoop::WaitForMoreEvents);
    canvas.repaint();
    sync(conn);
    const xcb_window_t window = xcb_window_t(canvas.winId());
    std::cout << "ready " << window << std::endl;

    std::string line;
    while (std::getline(std::cin, line)) {
        std::istringstream in(line);
        std::string cmd;
        in >> cmd;
        if (cmd == "quit")
            break;
        if (cmd == "raise") {
            canvas.raise();
            const uint32_t above = XCB_STACK_MODE_ABOVE;
            xcb_configure_window(conn, window, XCB_CONFIG_WINDOW_STACK_MODE, &above);
            sync(conn);
            app.processEvents();
            sync(conn);
            std::cout << "ok" << std::endl;
            continue;
        }
        if (cmd != "round") {
            std::cout << "error unknown command " << cmd << std::endl;
            continue;
        }
        std::string work, paint;
        uint32_t first = 0, count = 0;
        in >> work >> paint >> first >> count;
        canvas.paint = paint == "fill" ? Paint::Fill : Paint::Pattern;
        QRect last;
        for (uint32_t n = first; n < first + count; n++) {
            canvas.frame = n;
            if (work == "storm") {
                canvas.resize(storm_size(n, width, height));
                app.processEvents();
            }
            const int w = canvas.width(), h = canvas.height();
            if (work == "expose") {
                // The server loses the window's pixels; Qt repairs them from its
                // backing store when it handles the Expose.
                const int before = watch.seen;
                xcb_clear_area(conn, 1, window, 0, 0, 0, 0);
                xcb_flush(conn);
                while (watch.seen == before)
                    app.processEvents(QEventLoop::WaitForMoreEvents);
                app.processEvents();
                last = QRect(0, 0, w, h);
                continue;
            }
            if (work == "scroll")
                canvas.scroll(0, -40);
            QRegion region;
            for (const QRect &r : damage(work, n, w, h)) {
                region += r;
                last = r;
            }
            canvas.repaint(region);
        }
        sync(conn);
        const int x = last.x() + last.width() / 2, y = last.y() + last.height() / 2;
        std::cout << "done " << x << " " << y << " " << read_pixel(conn, window, x, y)
                  << std::endl;
    }
    return 0;
}
