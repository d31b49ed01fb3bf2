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
  {
    id: "mines",
    title: "Mines",
    blurb: "Find the gems, dodge the mines",
    icon: ["M6 3h12l4 6-10 12L2 9z", "M2 9h20", "M12 21 8 9l4-6 4 6 -4 12"],
  },
  {
    id: "hilo",
    title: "HiLo",
    blurb: "Higher or lower than this card?",
    icon: ["M5 4a2 2 0 0 1 2-2h7a2 2 0 0 1 2 2v13a2 2 0 0 1-2 2H7a2 2 0 0 1-2-2z", "M16 6l2.6.7a2 2 0 0 1 1.4 2.5l-3.3 12.3a2 2 0 0 1-2.5 1.4L10 22", "M10.5 7.5l-2 3.5h4l-2 3.5"],
  },
  {
    id: "quiz",
    title: "Quiz",
    blurb: "Answer right, multiply your stake",
    icon: ["M12 22a10 10 0 1 0 0-20 10 10 0 0 0 0 20z", "M9.1 9a3 3 0 0 1 5.8 1c0 2-3 3-3 3", "M12 17h.01"],
  },
];

export const GAME_BY_ID = Object.fromEntries(GAMES.map((game) => [game.id, game]));
