//! Loudness in a few steps a citizen can hear change, back to the default after each visit
//! (EN 301 549 5.1.3.11-13).

/// A volume step, [`Volume::MIN`] to [`Volume::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Volume(u8);

impl Volume {
    /// The quietest step.
    pub const MIN: Volume = Volume(1);
    /// The loudest step.
    pub const MAX: Volume = Volume(8);
    /// Where every visit starts: the engine's normal loudness.
    pub const DEFAULT: Volume = Volume(4);

    /// One step louder, stopping at the loudest.
    pub fn up(self) -> Volume {
        Volume((self.0 + 1).min(Self::MAX.0))
    }

    /// One step quieter, stopping at the quietest.
    pub fn down(self) -> Volume {
        Volume((self.0 - 1).max(Self::MIN.0))
    }

    /// The step `n`, kept within [`Volume::MIN`] and [`Volume::MAX`].
    pub fn from_step(n: u8) -> Volume {
        Volume(n.clamp(Self::MIN.0, Self::MAX.0))
    }

    /// The step number, 1 to 8.
    pub fn step(self) -> u8 {
        self.0
    }

    /// espeak-ng's amplitude (`-a`, 0-200, 100 normal) for this step.
    pub fn amplitude(self) -> u8 {
        self.0 * 25
    }
}

impl Default for Volume {
    fn default() -> Self {
        Volume::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_stop_at_both_ends() {
        let mut v = Volume::DEFAULT;
        assert_eq!(v.amplitude(), 100);
        for _ in 0..10 {
            v = v.up();
        }
        assert_eq!(v, Volume::MAX);
        assert_eq!(v.amplitude(), 200);
        for _ in 0..10 {
            v = v.down();
        }
        assert_eq!(v, Volume::MIN);
        assert_eq!(v.amplitude(), 25);
    }
}
