//! Architecture search over cnn networks.
//!
//! A [`SearchSpace`] file says which networks may be proposed; a [`strategy`] proposes
//! genomes (random search, regularized evolution, REINFORCE); each becomes an ARCH file that
//! [`candidate::check`] validates and a runtime network trains for a small budget
//! ([`trial`]); the [`study`] keeps trials, rewards and the strategy's state in SQLite or
//! PostgreSQL, so that a search survives crashes and many workers share it; [`worker`] runs
//! trials of a study and [`report`] writes what it found. `cnn search` is the command line.
//!
//! ```
//! use cnn_search::{Kind, SearchSpace, candidate};
//!
//! let space = SearchSpace::parse("SPACE = {
//!     'conv_layers': (1, 2),
//!     'conv': {'num_output': [8, 16], 'kernel_height': [3, 5], 'stride': [1, 2]},
//!     'constraints': {'max_params': 100000},
//! }").unwrap();
//! let mut strategy = Kind::Evolution.start(&space.choices(), 42);
//! for _ in 0..20 {
//!     let genome = strategy.ask();
//!     let (arch, network) = candidate::check(&space, &genome, [1, 28, 28], 10);
//!     // Train `arch` here; a network the space does not allow earns a penalty instead.
//!     let reward = network.map_or(0.0, |n| 1.0 / (1.0 + n.params() as f64 / 1e5));
//!     strategy.tell(&genome, reward);
//!     assert!(arch.contains("\"layers\""));
//! }
//! ```

pub mod candidate;
pub mod report;
pub mod space;
pub mod strategy;
pub mod study;
pub mod trial;
pub mod worker;

pub use space::{Choice, Constraints, Decision, SearchSpace};
pub use strategy::{Genome, Kind, Strategy};
pub use study::{Study, StudyError};
