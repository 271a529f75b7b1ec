"""The controlled vocabulary of the records (v1, v2) and assessment v1 as closed enumerations.

These mirror ``knowledge/content/vocabulary.yaml`` (the public contract); a content test fails
when the two drift apart. Ids are stable: add, never rename or drop.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "Action",
    "AlertId",
    "AlsfrsItem",
    "AwajiCategory",
    "CareKind",
    "DifferentialId",
    "DifferentialLevel",
    "ElEscorialCategory",
    "FindingId",
    "GeneticResult",
    "InterventionEvent",
    "InterventionKind",
    "InvestigationId",
    "InvestigationStatus",
    "Jurisdiction",
    "KingsClinicalStage",
    "KingsStage",
    "LabId",
    "LmnSign",
    "OnsetSite",
    "Position",
    "RecommendationId",
    "Region",
    "RespiratorySymptom",
    "RiskFactorId",
    "Severity",
    "Sex",
    "Side",
    "StopReason",
    "TestResult",
    "UmnSign",
]


class Region(StrEnum):
    """The four body regions of the El Escorial, Awaji and Gold Coast criteria."""

    BULBAR = "bulbar"
    CERVICAL = "cervical"
    THORACIC = "thoracic"
    LUMBOSACRAL = "lumbosacral"


class OnsetSite(StrEnum):
    """Where the first symptom appeared."""

    BULBAR = "bulbar"
    CERVICAL = "cervical"
    THORACIC = "thoracic"
    LUMBOSACRAL = "lumbosacral"
    RESPIRATORY = "respiratory"
    GENERALIZED = "generalized"
    COGNITIVE = "cognitive"


class LmnSign(StrEnum):
    """Lower motor neuron signs recorded per region in the examination."""

    WEAKNESS = "weakness"
    WASTING = "wasting"
    FASCICULATIONS = "fasciculations"


class UmnSign(StrEnum):
    """Upper motor neuron signs recorded per region in the examination."""

    HYPERREFLEXIA = "hyperreflexia"
    PATHOLOGICAL_REFLEXES = "pathological_reflexes"
    SPASTICITY = "spasticity"
    SLOWED_MOVEMENTS = "slowed_movements"


class FindingId(StrEnum):
    """History and examination findings (record.findings[].id)."""

    UPPER_EXTREMITY_WEAKNESS = "upper_extremity_weakness"
    STIFFNESS_POOR_COORDINATION = "stiffness_poor_coordination"
    SPASTIC_UNSTEADY_GAIT = "spastic_unsteady_gait"
    PAINFUL_MUSCLE_SPASMS = "painful_muscle_spasms"
    DIFFICULTY_RISING_CLIMBING = "difficulty_rising_climbing"
    FOOT_DROP = "foot_drop"
    STIFFNESS_GAIT_IMBALANCE = "stiffness_gait_imbalance"
    HEAD_DROP = "head_drop"
    STOOPED_POSTURE = "stooped_posture"
    MUSCLE_ATROPHY = "muscle_atrophy"
    LUMBAR_LORDOSIS_ABDOMINAL_PROTUBERANCE = "lumbar_lordosis_abdominal_protuberance"
    HYPERREFLEXIA = "hyperreflexia"
    DYSPNEA = "dyspnea"
    CHOKING_ON_LIQUIDS = "choking_on_liquids"
    STRAINED_SLOW_SPEECH = "strained_slow_speech"
    SLURRED_NASAL_SPEECH = "slurred_nasal_speech"
    HYPOPHONIC_SPEECH = "hypophonic_speech"
    FALLS = "falls"
    SIALORRHEA = "sialorrhea"
    PSEUDOBULBAR_AFFECT = "pseudobulbar_affect"
    COGNITIVE_IMPAIRMENT = "cognitive_impairment"
    FTD_FEATURES = "ftd_features"
    FASCICULATIONS = "fasciculations"
    TONGUE_FASCICULATIONS = "tongue_fasciculations"
    TONGUE_WASTING = "tongue_wasting"
    BRISK_JAW_JERK = "brisk_jaw_jerk"
    BABINSKI_SIGN = "babinski_sign"
    HOFFMANN_SIGN = "hoffmann_sign"
    DYSPHAGIA = "dysphagia"
    ORTHOPNEA = "orthopnea"
    WEIGHT_LOSS = "weight_loss"
    THICK_SECRETIONS = "thick_secretions"
    PAIN = "pain"
    LARYNGOSPASM = "laryngospasm"
    INSOMNIA = "insomnia"
    DEPRESSION = "depression"
    ANXIETY = "anxiety"
    SENSORY_LOSS = "sensory_loss"
    SENSORY_LEVEL = "sensory_level"
    SPHINCTER_DYSFUNCTION = "sphincter_dysfunction"
    NECK_PAIN_RADICULAR = "neck_pain_radicular"
    PTOSIS = "ptosis"
    DIPLOPIA_OPHTHALMOPLEGIA = "diplopia_ophthalmoplegia"
    FATIGABLE_WEAKNESS = "fatigable_weakness"
    FINGER_FLEXOR_WEAKNESS = "finger_flexor_weakness"
    QUADRICEPS_WEAKNESS = "quadriceps_weakness"
    GYNECOMASTIA = "gynecomastia"
    AUTONOMIC_DYSFUNCTION = "autonomic_dysfunction"
    NERVE_TERRITORY_WEAKNESS = "nerve_territory_weakness"
    NON_PROGRESSIVE_COURSE = "non_progressive_course"
    PRIOR_POLIOMYELITIS = "prior_poliomyelitis"
    ATAXIA = "ataxia"
    EXTRAPYRAMIDAL_SIGNS = "extrapyramidal_signs"
    CONSTITUTIONAL_SYMPTOMS = "constitutional_symptoms"


class RiskFactorId(StrEnum):
    """Risk factors of the topic (record.risk_factors[])."""

    GENETIC_PREDISPOSITION_FAMILY_HISTORY = "genetic_predisposition_family_history"
    AGE_OVER_40 = "age_over_40"
    MILITARY_SERVICE = "military_service"
    PROFESSIONAL_ATHLETIC_ACTIVITY = "professional_athletic_activity"
    CIGARETTE_SMOKING = "cigarette_smoking"
    AGRICULTURAL_CHEMICAL_EXPOSURE = "agricultural_chemical_exposure"
    LEAD_EXPOSURE = "lead_exposure"


class InvestigationId(StrEnum):
    """Investigations (record.tests[].id and the investigation plan)."""

    CLINICAL_DIAGNOSIS = "clinical_diagnosis"
    EMG_NCS = "emg_ncs"
    REPETITIVE_NERVE_STIMULATION = "repetitive_nerve_stimulation"
    MRI_BRAIN_SPINE = "mri_brain_spine"
    ANTI_GM1_ANTIBODIES = "anti_gm1_antibodies"
    VGCC_ANTIBODIES = "vgcc_antibodies"
    ACHR_MUSK_ANTIBODIES = "achr_musk_antibodies"
    VITAMIN_B12 = "vitamin_b12"
    CREATINE_KINASE = "creatine_kinase"
    LUMBAR_PUNCTURE = "lumbar_puncture"
    HIV_TEST = "hiv_test"
    GENETIC_TESTING = "genetic_testing"
    THYROID_FUNCTION = "thyroid_function"
    CALCIUM_PTH = "calcium_pth"
    SERUM_PROTEIN_ELECTROPHORESIS = "serum_protein_electrophoresis"
    COPPER = "copper"
    HEXOSAMINIDASE_A = "hexosaminidase_a"
    AR_CAG_REPEAT = "ar_cag_repeat"
    SMN1_DELETION = "smn1_deletion"
    MUSCLE_BIOPSY = "muscle_biopsy"
    HTLV1_SEROLOGY = "htlv1_serology"


class DifferentialId(StrEnum):
    """Differential diagnoses (ALS mimics and ALS-spectrum phenotypes)."""

    CERVICAL_SPONDYLOTIC_MYELOPATHY = "cervical_spondylotic_myelopathy"
    MULTIFOCAL_MOTOR_NEUROPATHY = "multifocal_motor_neuropathy"
    INCLUSION_BODY_MYOSITIS = "inclusion_body_myositis"
    MYASTHENIA_GRAVIS = "myasthenia_gravis"
    LAMBERT_EATON = "lambert_eaton"
    KENNEDY_DISEASE = "kennedy_disease"
    ADULT_SPINAL_MUSCULAR_ATROPHY = "adult_spinal_muscular_atrophy"
    HEREDITARY_SPASTIC_PARAPLEGIA = "hereditary_spastic_paraplegia"
    PRIMARY_LATERAL_SCLEROSIS = "primary_lateral_sclerosis"
    PROGRESSIVE_MUSCULAR_ATROPHY = "progressive_muscular_atrophy"
    HEXOSAMINIDASE_A_DEFICIENCY = "hexosaminidase_a_deficiency"
    B12_DEFICIENCY = "b12_deficiency"
    COPPER_DEFICIENCY_MYELOPATHY = "copper_deficiency_myelopathy"
    HIV_ASSOCIATED = "hiv_associated"
    HTLV1_MYELOPATHY = "htlv1_myelopathy"
    LEAD_TOXICITY = "lead_toxicity"
    THYROTOXICOSIS = "thyrotoxicosis"
    HYPERPARATHYROIDISM = "hyperparathyroidism"
    CIDP = "cidp"
    POST_POLIO_SYNDROME = "post_polio_syndrome"
    BENIGN_FASCICULATION_SYNDROME = "benign_fasciculation_syndrome"
    STRUCTURAL_LESION = "structural_lesion"
    MONOMELIC_AMYOTROPHY = "monomelic_amyotrophy"
    PARANEOPLASTIC = "paraneoplastic"


class AlsfrsItem(StrEnum):
    """The twelve ALSFRS-R items in scale order."""

    SPEECH = "speech"
    SALIVATION = "salivation"
    SWALLOWING = "swallowing"
    HANDWRITING = "handwriting"
    CUTTING_FOOD = "cutting_food"
    DRESSING_HYGIENE = "dressing_hygiene"
    TURNING_IN_BED = "turning_in_bed"
    WALKING = "walking"
    CLIMBING_STAIRS = "climbing_stairs"
    DYSPNEA = "dyspnea"
    ORTHOPNEA = "orthopnea"
    RESPIRATORY_INSUFFICIENCY = "respiratory_insufficiency"


class GeneticResult(StrEnum):
    """Classification of a genetic test result."""

    PATHOGENIC = "pathogenic"
    LIKELY_PATHOGENIC = "likely_pathogenic"
    VUS = "vus"
    NEGATIVE = "negative"
    NOT_TESTED = "not_tested"


class Jurisdiction(StrEnum):
    """Regulatory jurisdiction that decides drug availability."""

    US = "US"
    EU = "EU"
    UK = "UK"
    CA = "CA"
    JP = "JP"
    AU = "AU"
    OTHER = "OTHER"


class Sex(StrEnum):
    """Sex as recorded."""

    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class TestResult(StrEnum):
    """Qualitative result of an investigation."""

    NORMAL = "normal"
    ABNORMAL = "abnormal"
    POSITIVE = "positive"
    NEGATIVE = "negative"
    PENDING = "pending"


class RespiratorySymptom(StrEnum):
    """Symptoms of respiratory muscle weakness (record.respiratory[].symptoms)."""

    ORTHOPNEA = "orthopnea"
    MORNING_HEADACHE = "morning_headache"
    DAYTIME_SOMNOLENCE = "daytime_somnolence"
    UNREFRESHING_SLEEP = "unrefreshing_sleep"
    POOR_CONCENTRATION = "poor_concentration"
    DYSPNEA_ON_EXERTION = "dyspnea_on_exertion"
    RECURRENT_CHEST_INFECTIONS = "recurrent_chest_infections"


class Side(StrEnum):
    """Body side of a finding."""

    LEFT = "left"
    RIGHT = "right"
    BILATERAL = "bilateral"


class Position(StrEnum):
    """Body position during spirometry."""

    SITTING = "sitting"
    SUPINE = "supine"


class InterventionKind(StrEnum):
    """Interventions whose course record v2 follows (record.interventions[].kind)."""

    NIV = "niv"
    GASTROSTOMY = "gastrostomy"
    TRACHEOSTOMY = "tracheostomy"
    COUGH_ASSIST = "cough_assist"


class InterventionEvent(StrEnum):
    """What happened to an intervention on a date (record.interventions[].event)."""

    OFFERED = "offered"
    DECLINED = "declined"
    STARTED = "started"
    STOPPED = "stopped"


class StopReason(StrEnum):
    """Why a medication was stopped (record.medications[].stop_reason)."""

    ADVERSE_EFFECT = "adverse_effect"
    INEFFECTIVE = "ineffective"
    PATIENT_CHOICE = "patient_choice"
    NOT_AVAILABLE = "not_available"
    OTHER = "other"


class CareKind(StrEnum):
    """Care events of record v2 (record.care[].kind)."""

    MULTIDISCIPLINARY_CLINIC = "multidisciplinary_clinic"
    ADVANCE_CARE_PLAN = "advance_care_plan"
    PALLIATIVE_CARE_REFERRAL = "palliative_care_referral"


class LabId(StrEnum):
    """Laboratory values the treatment rules monitor (record.labs[].id)."""

    ALT = "alt"
    AST = "ast"
    NEUTROPHILS = "neutrophils"


class RecommendationId(StrEnum):
    """Recommendation ids of assessment v1 (the system may know more)."""

    RILUZOLE = "riluzole"
    EDARAVONE = "edaravone"
    TOFERSEN = "tofersen"
    MULTIDISCIPLINARY_CARE = "multidisciplinary_care"
    NIV = "niv"
    COUGH_AUGMENTATION = "cough_augmentation"
    GASTROSTOMY = "gastrostomy"
    DIETITIAN = "dietitian"
    SIALORRHEA_TREATMENT = "sialorrhea_treatment"
    PSEUDOBULBAR_AFFECT_TREATMENT = "pseudobulbar_affect_treatment"
    CRAMP_TREATMENT = "cramp_treatment"
    SPASTICITY_TREATMENT = "spasticity_treatment"
    DEPRESSION_ANXIETY_CARE = "depression_anxiety_care"
    COMMUNICATION_AAC = "communication_aac"
    COGNITIVE_SCREENING = "cognitive_screening"
    GENETIC_COUNSELLING = "genetic_counselling"
    ADVANCE_CARE_PLANNING = "advance_care_planning"
    PALLIATIVE_CARE = "palliative_care"
    RILUZOLE_LIVER_MONITORING = "riluzole_liver_monitoring"


class AlertId(StrEnum):
    """Alert ids of assessment v1."""

    NIV_INDICATED = "niv_indicated"
    GASTROSTOMY_INDICATED = "gastrostomy_indicated"
    RILUZOLE_HEPATOTOXICITY = "riluzole_hepatotoxicity"
    RILUZOLE_NEUTROPENIA = "riluzole_neutropenia"
    RESPIRATORY_REVIEW_OVERDUE = "respiratory_review_overdue"
    RAPID_PROGRESSION = "rapid_progression"
    MIMIC_SUSPECTED = "mimic_suspected"
    DRUG_NOT_AUTHORISED = "drug_not_authorised"


class Action(StrEnum):
    """What a recommendation asks the clinician to do."""

    START = "start"
    CONTINUE = "continue"
    CONSIDER = "consider"
    HOLD = "hold"
    STOP = "stop"
    REFER = "refer"
    MONITOR = "monitor"


class InvestigationStatus(StrEnum):
    """Status of an investigation in the patient's plan."""

    DONE = "done"
    RECOMMENDED = "recommended"
    CONSIDER = "consider"
    NOT_NEEDED = "not_needed"


class DifferentialLevel(StrEnum):
    """How strongly the record points to a differential."""

    SUSPECTED = "suspected"
    CONSIDER = "consider"


class ElEscorialCategory(StrEnum):
    """Revised El Escorial (Airlie House) categories."""

    DEFINITE = "definite"
    PROBABLE = "probable"
    PROBABLE_LABORATORY_SUPPORTED = "probable_laboratory_supported"
    POSSIBLE = "possible"
    NOT_MET = "not_met"


class AwajiCategory(StrEnum):
    """Awaji-Shima categories."""

    DEFINITE = "definite"
    PROBABLE = "probable"
    POSSIBLE = "possible"
    NOT_MET = "not_met"


class KingsStage(StrEnum):
    """King's stage estimated from ALSFRS-R (Balendra); 5 is death."""

    STAGE_1 = "1"
    STAGE_2 = "2"
    STAGE_3 = "3"
    STAGE_4A = "4A"
    STAGE_4B = "4B"
    STAGE_5 = "5"


class KingsClinicalStage(StrEnum):
    """King's clinical stage from milestones (Roche)."""

    STAGE_1 = "1"
    STAGE_2A = "2A"
    STAGE_2B = "2B"
    STAGE_3 = "3"
    STAGE_4A = "4A"
    STAGE_4B = "4B"
    STAGE_5 = "5"


class Severity(StrEnum):
    """Severity of an alert."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
