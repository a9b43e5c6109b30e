"""IMAS 04.10 / GICHD minimum-data vocabularies used across the ledger.

Enumerations are ``str`` subclasses so that their values are what is stored in
files and databases, and what users type.
"""

from __future__ import annotations

from enum import StrEnum


class Classification(StrEnum):
    """Hazard area classification (IMAS 07.11)."""

    SHA = "SHA"  # suspected hazardous area: indirect evidence
    CHA = "CHA"  # confirmed hazardous area: direct evidence


class AreaStatus(StrEnum):
    """Administrative status of a hazard area; set only by people, never by the model."""

    OPEN = "open"
    CLOSED = "closed"


class Evidence(StrEnum):
    DIRECT = "direct"
    INDIRECT = "indirect"


class LandUse(StrEnum):
    AGRICULTURAL = "agricultural"
    RESIDENTIAL = "residential"
    INFRASTRUCTURE = "infrastructure"
    FOREST = "forest"
    PASTURE = "pasture"
    WATER = "water"
    OTHER = "other"
    UNKNOWN = "unknown"


class RecordSource(StrEnum):
    """Where a record of laid or suspected items comes from."""

    MINEFIELD_RECORD = "minefield_record"  # an Amended Protocol II Technical Annex 1 record
    NTS = "nts"  # non-technical survey
    INCIDENT = "incident"
    OTHER = "other"


class InfoReliability(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class FindingState(StrEnum):
    """State of an item when a deminer found it: one current-status observation."""

    FUNCTIONAL = "functional"
    INERT = "inert"  # found intact but no longer able to function (e.g. power exhausted)
    SELF_DESTROYED = "self_destroyed"
    UNKNOWN = "unknown"


class ActivityKind(StrEnum):
    """Land release activities (IMAS 07.11)."""

    NTS = "nts"  # non-technical survey: cancels land
    TS = "ts"  # technical survey: reduces land
    CLEARANCE = "clearance"  # clears land


class ReleaseMethod(StrEnum):
    """How a technical survey or clearance searched the ground (GICHD Minimum Data
    Requirements: an activity's method). Clearance takes its probability of detection from
    the method's prior; technical survey from its own, since sampling lanes dominates."""

    MANUAL = "manual"  # deminers with detectors and prodders
    MECHANICAL = "mechanical"  # machines: flails, tillers, rollers
    DOGS = "dogs"  # mine detection dogs
    COMBINED = "combined"  # more than one of them over the same ground


class Outcome(StrEnum):
    KILLED = "killed"
    INJURED = "injured"


class Gender(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class ItemCategory(StrEnum):
    """Explosive ordnance categories the catalog distinguishes."""

    AP_MINE = "ap_mine"
    AT_MINE = "at_mine"
    SUBMUNITION = "submunition"
    OTHER = "other"


class PersistenceClass(StrEnum):
    """What, if anything, ends an item's ability to function."""

    PERSISTENT = "persistent"  # nothing: functions until removed
    SELF_DESTRUCT = "self_destruct"  # self-destruct mechanism only
    SELF_DEACTIVATING = "self_deactivating"  # power-source exhaustion only ("non-persistent")
    SD_AND_SDA = "sd_and_sda"  # self-destruct with back-up self-deactivation
