//! A durable study: trials, their rewards per epoch, their state and the strategy's state, in
//! a SQLite file or a PostgreSQL database that many workers share.
//!
//! Every change that decides what runs next (claiming, proposing, finishing, taking back a
//! trial whose worker died) happens in one transaction under the study's write lock, so two
//! workers never take the same trial and a crash at any moment leaves the study consistent:
//! finished trials stay finished, and a trial whose worker stopped sending heartbeats is run
//! again (up to [`Settings::max_attempts`] times) or marked failed.

mod db;
mod settings;

use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::any::AnyRow;

use crate::candidate;
use crate::space::SearchSpace;
use crate::strategy::{Genome, Kind, Strategy};
use db::{Db, get};
pub use settings::Settings;

/// Why a study could not be opened or updated.
#[derive(Debug, thiserror::Error)]
pub enum StudyError {
    #[error("database: {0}")]
    Database(String),
    #[error("no study `{name}` in {location}: start one with `cnn search run`")]
    Missing { name: String, location: String },
    #[error("study `{name}` already exists with {existing}; this run asks for {asked}")]
    Mismatch {
        name: String,
        existing: String,
        asked: String,
    },
    #[error("the study's search space no longer reads: {0}")]
    Space(String),
    #[error("strategy state: {0}")]
    State(String),
    #[error(
        "{0} proposals in a row broke the space's rules or constraints: loosen the constraints or narrow the space"
    )]
    NoValidProposal(usize),
}

/// Where a trial is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrialState {
    /// Waiting for a worker (a trial whose worker died goes back here).
    Queued,
    Running,
    /// Trained for its whole budget.
    Done,
    /// Stopped early by the median rule.
    Stopped,
    /// Training failed (a non-finite loss, an error), or its workers kept dying.
    Failed,
    /// Not a network the space allows: recorded with its message and the penalty.
    Invalid,
}

impl TrialState {
    pub const ALL: [TrialState; 6] = [
        TrialState::Queued,
        TrialState::Running,
        TrialState::Done,
        TrialState::Stopped,
        TrialState::Failed,
        TrialState::Invalid,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TrialState::Queued => "queued",
            TrialState::Running => "running",
            TrialState::Done => "done",
            TrialState::Stopped => "stopped",
            TrialState::Failed => "failed",
            TrialState::Invalid => "invalid",
        }
    }

    fn from_name(name: &str) -> Result<Self, StudyError> {
        Self::ALL
            .into_iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| StudyError::Database(format!("unknown trial state `{name}`")))
    }

    /// Whether the trial is over and its reward told to the strategy.
    pub fn is_final(self) -> bool {
        !matches!(self, TrialState::Queued | TrialState::Running)
    }
}

/// A trial as the study records it.
#[derive(Debug, Clone, PartialEq)]
pub struct Trial {
    pub number: i64,
    pub genome: Genome,
    /// The ARCH file (JSON) the genome stands for.
    pub arch: String,
    pub state: TrialState,
    pub worker: Option<String>,
    pub attempts: i64,
    pub reward: Option<f64>,
    /// Validation accuracy after the last epoch it trained.
    pub accuracy: Option<f64>,
    pub params: Option<i64>,
    pub macs: Option<i64>,
    pub epochs: i64,
    /// Training time, and the time the worker spent on the study around it.
    pub seconds: Option<f64>,
    pub overhead: f64,
    pub message: Option<String>,
    /// Seconds since the Unix epoch.
    pub created: f64,
    pub finished: Option<f64>,
}

/// A trial this worker holds: it alone trains it, until it finishes or stops sending
/// heartbeats.
#[derive(Debug, Clone)]
pub struct Claim {
    pub number: i64,
    /// 1 on the first run; more when a dead worker's trial runs again.
    pub attempt: i64,
    pub genome: Genome,
    pub arch: String,
    pub worker: String,
}

/// What a worker should do next.
#[derive(Debug)]
pub enum Next {
    Run(Claim),
    /// The budget is taken, but trials still run elsewhere (and may come back if their
    /// workers die).
    Wait,
    Finished,
}

/// How a trial ended.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub state: TrialState,
    pub accuracy: Option<f64>,
    pub reward: f64,
    pub epochs: usize,
    pub seconds: f64,
    pub overhead: f64,
    pub message: Option<String>,
}

/// An open study.
pub struct Study {
    db: Db,
    location: String,
    pub name: String,
    pub kind: Kind,
    pub seed: u64,
    pub space: SearchSpace,
    pub space_text: String,
    pub settings: Settings,
    pub created: f64,
}

/// What a new study is made of.
#[derive(Debug, Clone)]
pub struct NewStudy {
    pub kind: Kind,
    pub seed: u64,
    pub space_text: String,
    pub settings: Settings,
}

const SELECT_TRIAL: &str = "SELECT number, genome, arch, state, worker, attempts, reward, \
    accuracy, params, macs, epochs, seconds, overhead, message, created, finished FROM trials";

impl Study {
    /// Opens study `name` in `location` (a SQLite file or a `postgres://` URL). With `new`, a
    /// missing study is created; an existing one must have been made with the same strategy,
    /// seed, space and settings, so that workers joining it do the same search.
    pub fn open(location: &str, name: &str, new: Option<&NewStudy>) -> Result<Self, StudyError> {
        let mut db = Db::open(location)?;
        let row = db.exclusive(|db| {
            db.migrate()?;
            if let (None, Some(new)) = (find_study(db, name)?, new) {
                insert_study(db, name, new)?;
            }
            find_study(db, name)
        })?;
        let Some(row) = row else {
            return Err(StudyError::Missing {
                name: name.into(),
                location: location.into(),
            });
        };
        let study = Self::from_row(db, location, name, &row)?;
        if let Some(new) = new {
            study.check_same(new)?;
        }
        Ok(study)
    }

    fn from_row(db: Db, location: &str, name: &str, row: &AnyRow) -> Result<Self, StudyError> {
        let kind_name: String = get(row, 0)?;
        let kind = Kind::from_name(&kind_name)
            .ok_or_else(|| StudyError::State(format!("unknown strategy `{kind_name}`")))?;
        let space_text: String = get(row, 2)?;
        let space = parse_space(&space_text)?;
        let settings: String = get(row, 3)?;
        let settings = serde_json::from_str(&settings)
            .map_err(|e| StudyError::State(format!("settings: {e}")))?;
        Ok(Study {
            db,
            location: location.into(),
            name: name.into(),
            kind,
            seed: get::<i64>(row, 1)? as u64,
            space,
            space_text,
            settings,
            created: get(row, 4)?,
        })
    }

    fn check_same(&self, new: &NewStudy) -> Result<(), StudyError> {
        let existing = (self.kind, self.seed, &self.space_text, &self.settings);
        if existing == (new.kind, new.seed, &new.space_text, &new.settings) {
            return Ok(());
        }
        let describe = |kind: Kind, seed: u64, settings: &Settings| {
            format!(
                "strategy {}, seed {seed}, {}",
                kind.name(),
                settings.describe()
            )
        };
        let space_note = if self.space_text == new.space_text {
            ""
        } else {
            " and another space file"
        };
        Err(StudyError::Mismatch {
            name: self.name.clone(),
            existing: describe(self.kind, self.seed, &self.settings),
            asked: describe(new.kind, new.seed, &new.settings) + space_note,
        })
    }

    /// Another connection to this study, for a thread of its own (a worker's heartbeat):
    /// no migration, lock or parsing, which [`open`](Self::open) already did.
    pub fn reconnect(&self) -> Result<Self, StudyError> {
        Ok(Study {
            db: Db::open(&self.location)?,
            location: self.location.clone(),
            name: self.name.clone(),
            kind: self.kind,
            seed: self.seed,
            space: self.space.clone(),
            space_text: self.space_text.clone(),
            settings: self.settings.clone(),
            created: self.created,
        })
    }

    /// A trial's ARCH checked with the study's input shape and classes, as `name`.
    pub fn network(
        &self,
        arch: &str,
        name: &str,
    ) -> Result<cnn_arch::Network, cnn_arch::Diagnostics> {
        let overrides = cnn_arch::Overrides {
            name: Some(name.into()),
            input: Some(self.settings.input),
            classes: Some(self.settings.classes),
        };
        cnn_arch::check(arch, &overrides)
    }

    /// Where the study lives, as given to [`open`](Self::open).
    pub fn location(&self) -> &str {
        &self.location
    }

    /// The next thing for `worker` to do: a trial to run (one that was waiting, else a new
    /// proposal while the budget lasts), or wait, or stop.
    pub fn next(&mut self, worker: &str) -> Result<Next, StudyError> {
        self.locked(|study| {
            study.take_back_dead(now())?;
            if let Some(claim) = study.claim_queued(worker)? {
                return Ok(Next::Run(claim));
            }
            if study.count("state <> 'invalid'")? < study.settings.trials as i64 {
                return study.propose(worker).map(Next::Run);
            }
            match study.count("state IN ('running', 'queued')")? {
                0 => Ok(Next::Finished),
                _ => Ok(Next::Wait),
            }
        })
    }

    /// Runs `f` on the study's tables under its write lock ([`Db::exclusive`]).
    fn locked<T>(
        &mut self,
        f: impl FnOnce(&mut Locked) -> Result<T, StudyError>,
    ) -> Result<T, StudyError> {
        let (settings, space, kind) = (self.settings.clone(), self.space.clone(), self.kind);
        let name = self.name.clone();
        self.db.exclusive(|db| {
            f(&mut Locked {
                db,
                name: &name,
                settings: &settings,
                space: &space,
                kind,
            })
        })
    }

    /// Records that `claim`'s worker is alive. False when the trial is no longer its own
    /// (it was taken back after missed heartbeats): the worker should drop it.
    pub fn heartbeat(&mut self, claim: &Claim) -> Result<bool, StudyError> {
        let updated = self.db.execute(
            "UPDATE trials SET heartbeat = ? WHERE study = ? AND number = ? AND worker = ? \
             AND attempts = ? AND state = 'running'",
            |q| {
                q.bind(now())
                    .bind(self.name.clone())
                    .bind(claim.number)
                    .bind(claim.worker.clone())
                    .bind(claim.attempt)
            },
        )?;
        Ok(updated == 1)
    }

    /// Records `claim`'s validation accuracy after `epoch` (1-based), and says whether it
    /// should go on: false when the median rule stops it, that is when, from epoch
    /// [`Settings::prune_after`] on and with at least [`Settings::prune_min_trials`] finished
    /// trials that reached this epoch, it trails their median at the same epoch.
    pub fn report_epoch(
        &mut self,
        claim: &Claim,
        epoch: usize,
        accuracy: f64,
    ) -> Result<bool, StudyError> {
        let name = self.name.clone();
        self.db.execute(
            "INSERT INTO epochs (study, number, epoch, accuracy) VALUES (?, ?, ?, ?) \
             ON CONFLICT (study, number, epoch) DO UPDATE SET accuracy = excluded.accuracy",
            |q| {
                q.bind(name.clone())
                    .bind(claim.number)
                    .bind(epoch as i64)
                    .bind(accuracy)
            },
        )?;
        let s = &self.settings;
        if s.prune_min_trials == 0 || epoch < s.prune_after || epoch >= s.epochs {
            return Ok(true);
        }
        let rows = self.db.fetch_all(
            "SELECT e.accuracy FROM epochs e JOIN trials t ON t.study = e.study AND t.number = e.number \
             WHERE e.study = ? AND e.epoch = ? AND e.number <> ? AND t.state IN ('done', 'stopped')",
            |q| q.bind(name).bind(epoch as i64).bind(claim.number),
        )?;
        let mut others: Vec<f64> = rows.iter().map(|r| get(r, 0)).collect::<Result<_, _>>()?;
        if others.len() < s.prune_min_trials {
            return Ok(true);
        }
        others.sort_by(f64::total_cmp);
        Ok(accuracy >= median(&others))
    }

    /// Records how `claim` ended and tells the strategy its reward. Does nothing (and says
    /// false) if the trial was taken back from this worker meanwhile.
    pub fn finish(&mut self, claim: &Claim, outcome: &Outcome) -> Result<bool, StudyError> {
        self.locked(|study| {
            let name = study.name.to_owned();
            let updated = study.db.execute(
                "UPDATE trials SET state = ?, reward = ?, accuracy = ?, epochs = ?, seconds = ?, \
                 overhead = ?, message = ?, finished = ? WHERE study = ? AND number = ? \
                 AND worker = ? AND attempts = ? AND state = 'running'",
                |q| {
                    q.bind(outcome.state.name())
                        .bind(outcome.reward)
                        .bind(outcome.accuracy)
                        .bind(outcome.epochs as i64)
                        .bind(outcome.seconds)
                        .bind(outcome.overhead)
                        .bind(outcome.message.clone())
                        .bind(now())
                        .bind(name)
                        .bind(claim.number)
                        .bind(claim.worker.clone())
                        .bind(claim.attempt)
                },
            )?;
            if updated != 1 {
                return Ok(false);
            }
            study.tell(&claim.genome, outcome.reward)?;
            Ok(true)
        })
    }

    /// Gives `claim` back to the queue at once (on Ctrl-C), so that the next worker resumes it
    /// without waiting for its heartbeat to go stale. The attempt is not counted.
    pub fn release(&mut self, claim: &Claim) -> Result<(), StudyError> {
        let name = self.name.clone();
        self.db.execute(
            "UPDATE trials SET state = 'queued', worker = NULL, attempts = attempts - 1 \
             WHERE study = ? AND number = ? AND worker = ? AND attempts = ? AND state = 'running'",
            |q| {
                q.bind(name)
                    .bind(claim.number)
                    .bind(claim.worker.clone())
                    .bind(claim.attempt)
            },
        )?;
        Ok(())
    }

    /// Every trial, by number.
    pub fn trials(&mut self) -> Result<Vec<Trial>, StudyError> {
        let sql = leak_select("WHERE study = ? ORDER BY number");
        let rows = self.db.fetch_all(sql, |q| q.bind(self.name.clone()))?;
        rows.iter().map(trial_from_row).collect()
    }

    /// Every recorded `(trial, epoch, validation accuracy)`.
    pub fn epochs(&mut self) -> Result<Vec<(i64, i64, f64)>, StudyError> {
        let rows = self.db.fetch_all(
            "SELECT number, epoch, accuracy FROM epochs WHERE study = ? ORDER BY number, epoch",
            |q| q.bind(self.name.clone()),
        )?;
        rows.iter()
            .map(|r| Ok((get(r, 0)?, get(r, 1)?, get(r, 2)?)))
            .collect()
    }

    /// The strategy as the study holds it now.
    pub fn strategy(&mut self) -> Result<Box<dyn Strategy>, StudyError> {
        let name = self.name.clone();
        load_strategy(&mut self.db, &name, self.kind)
    }
}

/// The study's tables while this worker holds the write lock.
struct Locked<'a> {
    db: &'a mut Db,
    name: &'a str,
    settings: &'a Settings,
    space: &'a SearchSpace,
    kind: Kind,
}

impl Locked<'_> {
    fn count(&mut self, condition: &str) -> Result<i64, StudyError> {
        let sql = format!("SELECT COUNT(*) FROM trials WHERE study = ? AND {condition}");
        let row = self
            .db
            .fetch_one(db::intern(sql), |q| q.bind(self.name.to_owned()))?;
        row.map_or(Ok(0), |r| get(&r, 0))
    }

    /// Running trials whose heartbeat is older than the timeout go back to the queue, or fail
    /// (with the penalty told to the strategy) once they used up their attempts.
    fn take_back_dead(&mut self, now: f64) -> Result<(), StudyError> {
        let stale = now - self.settings.heartbeat_timeout;
        let rows = self.db.fetch_all(
            "SELECT number, genome, attempts FROM trials WHERE study = ? AND state = 'running' \
             AND heartbeat < ?",
            |q| q.bind(self.name.to_owned()).bind(stale),
        )?;
        for row in rows {
            let (number, genome, attempts): (i64, String, i64) =
                (get(&row, 0)?, get(&row, 1)?, get(&row, 2)?);
            if attempts < self.settings.max_attempts as i64 {
                self.db.execute(
                    "UPDATE trials SET state = 'queued', worker = NULL WHERE study = ? AND number = ?",
                    |q| q.bind(self.name.to_owned()).bind(number),
                )?;
                continue;
            }
            let message = format!("its worker stopped sending heartbeats, {attempts} times");
            self.db.execute(
                "UPDATE trials SET state = 'failed', reward = ?, message = ?, finished = ? \
                 WHERE study = ? AND number = ?",
                |q| {
                    q.bind(self.settings.penalty)
                        .bind(message)
                        .bind(now)
                        .bind(self.name.to_owned())
                        .bind(number)
                },
            )?;
            self.tell(&parse_genome(&genome)?, self.settings.penalty)?;
        }
        Ok(())
    }

    fn claim_queued(&mut self, worker: &str) -> Result<Option<Claim>, StudyError> {
        let row = self.db.fetch_one(
            "SELECT number, genome, arch, attempts FROM trials WHERE study = ? AND state = 'queued' \
             ORDER BY number LIMIT 1",
            |q| q.bind(self.name.to_owned()),
        )?;
        let Some(row) = row else {
            return Ok(None);
        };
        let claim = Claim {
            number: get(&row, 0)?,
            genome: parse_genome(&get::<String>(&row, 1)?)?,
            arch: get(&row, 2)?,
            attempt: get::<i64>(&row, 3)? + 1,
            worker: worker.into(),
        };
        self.db.execute(
            "UPDATE trials SET state = 'running', worker = ?, heartbeat = ?, attempts = ? \
             WHERE study = ? AND number = ?",
            |q| {
                q.bind(worker.to_owned())
                    .bind(now())
                    .bind(claim.attempt)
                    .bind(self.name.to_owned())
                    .bind(claim.number)
            },
        )?;
        Ok(Some(claim))
    }

    /// Asks the strategy until it proposes a network the space allows, recording each one it
    /// does not as an invalid trial with the penalty; the valid one is claimed by `worker`.
    fn propose(&mut self, worker: &str) -> Result<Claim, StudyError> {
        const MAX_INVALID_IN_A_ROW: usize = 1000;
        let mut strategy = load_strategy(self.db, self.name, self.kind)?;
        for _ in 0..MAX_INVALID_IN_A_ROW {
            let genome = strategy.ask();
            let (input, classes) = (self.settings.input, self.settings.classes);
            let (arch, network) = candidate::check(self.space, &genome, input, classes);
            let number = self.count("1 = 1")?;
            let (state, params, macs, message) = match &network {
                Ok(n) => (
                    TrialState::Running,
                    Some(n.params() as i64),
                    Some(n.macs() as i64),
                    None,
                ),
                Err(message) => (TrialState::Invalid, None, None, Some(message.clone())),
            };
            let penalty = (state == TrialState::Invalid).then_some(self.settings.penalty);
            self.db.execute(
                "INSERT INTO trials (study, number, genome, arch, state, worker, heartbeat, \
                 attempts, reward, params, macs, epochs, overhead, message, created, finished) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?, ?)",
                |q| {
                    let running = state == TrialState::Running;
                    q.bind(self.name.to_owned())
                        .bind(number)
                        .bind(genome_text(&genome))
                        .bind(arch.clone())
                        .bind(state.name())
                        .bind(running.then(|| worker.to_owned()))
                        .bind(now())
                        .bind(i64::from(running))
                        .bind(penalty)
                        .bind(params)
                        .bind(macs)
                        .bind(message)
                        .bind(now())
                        .bind((!running).then(now))
                },
            )?;
            if let Some(penalty) = penalty {
                strategy.tell(&genome, penalty);
                continue;
            }
            save_strategy(self.db, self.name, strategy.as_ref())?;
            return Ok(Claim {
                number,
                attempt: 1,
                genome,
                arch,
                worker: worker.into(),
            });
        }
        save_strategy(self.db, self.name, strategy.as_ref())?;
        Err(StudyError::NoValidProposal(MAX_INVALID_IN_A_ROW))
    }

    fn tell(&mut self, genome: &[usize], reward: f64) -> Result<(), StudyError> {
        let mut strategy = load_strategy(self.db, self.name, self.kind)?;
        strategy.tell(genome, reward);
        save_strategy(self.db, self.name, strategy.as_ref())
    }
}

fn find_study(db: &mut Db, name: &str) -> Result<Option<AnyRow>, StudyError> {
    db.fetch_one(
        "SELECT strategy, seed, space, settings, created FROM studies WHERE name = ?",
        |q| q.bind(name.to_owned()),
    )
}

fn insert_study(db: &mut Db, name: &str, new: &NewStudy) -> Result<(), StudyError> {
    let space = parse_space(&new.space_text)?;
    let state = new.kind.start(&space.choices(), new.seed).state();
    let settings = serde_json::to_string(&new.settings).expect("settings serialise");
    db.execute(
        "INSERT INTO studies (name, strategy, seed, space, settings, strategy_state, created) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
        |q| {
            q.bind(name.to_owned())
                .bind(new.kind.name())
                .bind(new.seed as i64)
                .bind(new.space_text.clone())
                .bind(settings)
                .bind(state.to_string())
                .bind(now())
        },
    )?;
    Ok(())
}

fn load_strategy(db: &mut Db, name: &str, kind: Kind) -> Result<Box<dyn Strategy>, StudyError> {
    let row = db.fetch_one("SELECT strategy_state FROM studies WHERE name = ?", |q| {
        q.bind(name.to_owned())
    })?;
    let text: String = get(
        &row.ok_or_else(|| StudyError::State("study row missing".into()))?,
        0,
    )?;
    let value = serde_json::from_str(&text).map_err(|e| StudyError::State(e.to_string()))?;
    kind.restore(value)
        .map_err(|e| StudyError::State(e.to_string()))
}

fn save_strategy(db: &mut Db, name: &str, strategy: &dyn Strategy) -> Result<(), StudyError> {
    db.execute(
        "UPDATE studies SET strategy_state = ? WHERE name = ?",
        |q| q.bind(strategy.state().to_string()).bind(name.to_owned()),
    )?;
    Ok(())
}

fn trial_from_row(row: &AnyRow) -> Result<Trial, StudyError> {
    Ok(Trial {
        number: get(row, 0)?,
        genome: parse_genome(&get::<String>(row, 1)?)?,
        arch: get(row, 2)?,
        state: TrialState::from_name(&get::<String>(row, 3)?)?,
        worker: get(row, 4)?,
        attempts: get(row, 5)?,
        reward: get(row, 6)?,
        accuracy: get(row, 7)?,
        params: get(row, 8)?,
        macs: get(row, 9)?,
        epochs: get(row, 10)?,
        seconds: get(row, 11)?,
        overhead: get(row, 12)?,
        message: get(row, 13)?,
        created: get(row, 14)?,
        finished: get(row, 15)?,
    })
}

fn parse_space(text: &str) -> Result<SearchSpace, StudyError> {
    SearchSpace::parse(text).map_err(|errors| {
        let errors: Vec<String> = errors.iter().map(|e| e.render("space")).collect();
        StudyError::Space(errors.join("; "))
    })
}

fn genome_text(genome: &[usize]) -> String {
    serde_json::to_string(genome).expect("a list of numbers serialises")
}

fn parse_genome(text: &str) -> Result<Genome, StudyError> {
    serde_json::from_str(text).map_err(|e| StudyError::State(format!("genome `{text}`: {e}")))
}

fn leak_select(tail: &str) -> &'static str {
    db::intern(format!("{SELECT_TRIAL} {tail}"))
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// Seconds since the Unix epoch.
pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
