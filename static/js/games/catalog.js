// What the lobby and the sidebar show of each game the client knows how to play.

export const GAMES = [
  {
    id: "crash",
    title: "Crash",
    blurb: "Cash out before the rocket crashes",
    live: true,
    icon: ["M3 20h18", "M4 16c5 0 9-3 12-11", "M13 5h3v3"],
  },
  {
    id: "dice",
    title: "Dice",
    blurb: "Roll over or under your target",
    icon: ["M5 3h14a2 2 0 0 1 2 2v14a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z", "M8 8h.01", "M16 16h.01", "M12 12h.01"],
  },
  {
    id: "limbo",
    title: "Limbo",
    blurb: "Pick a multiplier, beat the draw",
    icon: ["M12 2c3 3 4.5 6.5 4.5 10.5L12 17l-4.5-4.5C7.5 8.5 9 5 12 2z", "M12 9h.01", "M7.5 12.5 5 15l2 2", "M16.5 12.5 19 15l-2 2", "M10 20l2 2 2-2"],
  },
  {
    id: "plinko",
    title: "Plinko",
    blurb: "Drop the ball through the pins",
    icon: ["M12 4h.01", "M9 8h.01", "M15 8h.01", "M6 12h.01", "M12 12h.01", "M18 12h.01", "M3 16h.01", "M9 16h.01", "M15 16h.01", "M21 16h.01", "M3 20h18"],
  },
  {
    id: "keno",
    title: "Keno",
    blurb: "Pick up to 10 numbers of 40",
    icon: ["M4 4h6v6H4z", "M14 4h6v6h-6z", "M4 14h6v6H4z", "M14 14h6v6h-6z"],
  },
];

export const GAME_BY_ID = Object.fromEntries(GAMES.map((game) => [game.id, game]));
