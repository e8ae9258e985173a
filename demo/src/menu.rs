//! The demo's popup menu: a window of its own (override-redirect, grabbing the pointer
//! and keyboard) with its own store on the demo's connection, events routed to it by
//! the `Display`. Hovering repaints the two items whose highlight changed, nothing else.

use std::error::Error;

use xbs::OwnConnection;
use xbs::{Options, Rect, Region};
use xbs_window::{Display, PopupKind, Window, WindowEvent, WindowId};

use crate::scene::text;

/// What the menu offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Item {
    Pause,
    Transport,
    Damage,
    Quit,
}

const ITEMS: [(Item, &str); 4] = [
    (Item::Pause, "Pause / resume"),
    (Item::Transport, "Next transport"),
    (Item::Damage, "Show damage"),
    (Item::Quit, "Quit"),
];
const ITEM_H: u32 = 18;
const WIDTH: u32 = 140;
const HEIGHT: u32 = ITEM_H * ITEMS.len() as u32 + 4;
const BG: u32 = 0xff30_3440;
const HOVER: u32 = 0xff46_82b4;
const FG: u32 = 0xffe8_e8e8;

/// What a menu event means for the app.
pub enum Outcome {
    /// Still open.
    Open,
    /// Closed without a choice.
    Closed,
    /// An item was chosen (the menu is closed).
    Chosen(Item),
}

pub struct Menu {
    pub id: WindowId,
    hover: Option<usize>,
}

impl Menu {
    /// Opens the menu at (x, y) of `parent`, drawn in full once.
    pub fn open(
        display: &mut Display<OwnConnection>,
        parent: WindowId,
        x: i32,
        y: i32,
    ) -> Result<Menu, Box<dyn Error>> {
        let builder = Window::builder()
            .popup(parent.raw(), PopupKind::Menu)
            .position(x, y)
            .size(WIDTH, HEIGHT)
            .grab(true);
        let id = display.window(builder)?;
        let window = display.get_mut(id).ok_or("menu window gone")?;
        window.attach_store(Options::default())?;
        if let Err(e) = window.map() {
            // Without the grab a click outside would not reach it: no menu then.
            display.close(id)?;
            return Err(e.into());
        }
        // Mapped at once (override-redirect, no window manager asked), so this shows;
        // the Expose of the map is repaired by the store from the same pixels.
        let mut menu = Menu { id, hover: None };
        menu.paint(display, &Region::from(Rect::new(0, 0, WIDTH, HEIGHT)))?;
        Ok(menu)
    }

    /// The item row `i` covers.
    fn row(i: usize) -> Rect {
        Rect::new(2, 2 + (i as u32 * ITEM_H) as i32, WIDTH - 4, ITEM_H)
    }

    fn item_at(x: i32, y: i32) -> Option<usize> {
        (0..ITEMS.len()).find(|&i| Self::row(i).intersects(&Rect::new(x, y, 1, 1)))
    }

    /// Paints and flushes `damage` of the menu.
    fn paint(
        &mut self,
        display: &mut Display<OwnConnection>,
        damage: &Region,
    ) -> Result<(), Box<dyn Error>> {
        let window = display.get_mut(self.id).ok_or("menu window gone")?;
        let store = window.store_mut().ok_or("no menu store")?;
        {
            let mut frame = store.begin_repaint(damage)?;
            frame.fill(Rect::new(0, 0, WIDTH, HEIGHT), BG);
            for (i, (_, label)) in ITEMS.iter().enumerate() {
                let row = Self::row(i);
                let bg = if self.hover == Some(i) { HOVER } else { BG };
                frame.fill(row, bg);
                text(&mut frame, row.x + 8, row.y + 5, label, FG, bg);
            }
        }
        window.flush(damage)?;
        Ok(())
    }

    /// Highlights item `i` (or none): repaints the rows whose highlight changed.
    pub fn set_hover(
        &mut self,
        display: &mut Display<OwnConnection>,
        i: Option<usize>,
    ) -> Result<(), Box<dyn Error>> {
        if i == self.hover {
            return Ok(());
        }
        let damage = Region::from_rects([self.hover, i].into_iter().flatten().map(Self::row));
        self.hover = i;
        self.paint(display, &damage)
    }

    /// Handles one of the menu window's events.
    pub fn event(
        &mut self,
        display: &mut Display<OwnConnection>,
        event: WindowEvent,
    ) -> Result<Outcome, Box<dyn Error>> {
        let inside = |x: i32, y: i32| x >= 0 && y >= 0 && x < WIDTH as i32 && y < HEIGHT as i32;
        match event {
            WindowEvent::PointerMoved { x, y } => self.set_hover(display, Self::item_at(x, y))?,
            WindowEvent::PointerLeft => self.set_hover(display, None)?,
            // The grab sends every click here: one outside closes the menu.
            WindowEvent::ButtonPressed { x, y, .. } if !inside(x, y) => {
                return self.close(display).map(|()| Outcome::Closed)
            }
            WindowEvent::ButtonReleased { button: 1, x, y } => {
                if let Some(i) = Self::item_at(x, y) {
                    return self.choose(display, i);
                }
            }
            WindowEvent::KeyPressed(key) => match key.keysym {
                0xff1b => return self.close(display).map(|()| Outcome::Closed), // Escape
                0xff54 | 0xff52 => {
                    // Down, Up
                    let n = ITEMS.len();
                    let step = if key.keysym == 0xff54 { 1 } else { n - 1 };
                    let next = self.hover.map_or(0, |h| (h + step) % n);
                    self.set_hover(display, Some(next))?;
                }
                0xff0d => {
                    // Return
                    if let Some(i) = self.hover {
                        return self.choose(display, i);
                    }
                }
                _ => {}
            },
            WindowEvent::Destroyed => return Ok(Outcome::Closed),
            _ => {}
        }
        Ok(Outcome::Open)
    }

    /// Chooses item `i`: the menu closes.
    pub fn choose(
        &mut self,
        display: &mut Display<OwnConnection>,
        i: usize,
    ) -> Result<Outcome, Box<dyn Error>> {
        self.close(display)?;
        Ok(Outcome::Chosen(ITEMS[i].0))
    }

    /// Closes the menu window; the main window's uncovered pixels are repaired by its
    /// store from the Expose, through the loop.
    pub fn close(&mut self, display: &mut Display<OwnConnection>) -> Result<(), Box<dyn Error>> {
        display.close(self.id)?;
        Ok(())
    }

    /// Which item is highlighted.
    pub fn hover(&self) -> Option<&'static str> {
        self.hover.map(|i| ITEMS[i].1)
    }

    /// The index of `item`.
    pub fn index(item: Item) -> usize {
        ITEMS.iter().position(|(it, _)| *it == item).unwrap_or(0)
    }
}
